import { LeaseSettler } from '../../../src/temporal/lease-settler';
import { eventually } from '../../helpers/eventually';

test('pending settles go with the next lease, or by themselves after the delay', async () => {
  const sent: string[][] = [];
  const settler = new LeaseSettler(async (ids) => void sent.push(ids), 50, () => undefined);
  settler.add(['a', 'b']);
  expect(settler.take()).toEqual(['a', 'b']);
  expect(settler.take()).toEqual([]);
  settler.add(['c']);
  settler.add(['d']);
  await eventually(async () => expect(sent).toEqual([['c', 'd']]));
  // Taken by a lease, nothing is left for the timer.
  await new Promise((r) => setTimeout(r, 80));
  expect(sent).toEqual([['c', 'd']]);
});

test('a failed signal keeps its settles for the next try', async () => {
  const errors: unknown[] = [];
  let fail = true;
  const sent: string[][] = [];
  const settler = new LeaseSettler(
    async (ids) => {
      if (fail) throw new Error('Temporal unreachable');
      sent.push(ids);
    },
    20,
    (err) => errors.push(err),
  );
  settler.add(['a']);
  await eventually(async () => expect(errors).toHaveLength(1));
  fail = false;
  await eventually(async () => expect(sent).toEqual([['a']]));
  await settler.flush();
  expect(sent).toEqual([['a']]);
});
