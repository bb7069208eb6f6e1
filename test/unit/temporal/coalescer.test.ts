import { Coalescer, takeInOrder } from '../../../src/temporal/coalescer';

/** A call whose answers the test releases by hand, recording what each call was given. */
function manualCall<Req>() {
  const calls: { requests: Req[]; settle: (err?: Error) => void }[] = [];
  const call = (requests: Req[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ requests, settle: (err) => (err ? reject(err) : resolve(requests.map((r) => `done ${String(r)}`))) });
    });
  return { calls, call };
}

const tick = () => new Promise((r) => setImmediate(r));

test('requests made while a call is in flight go together in the next call, each getting its own result', async () => {
  const { calls, call } = manualCall<number>();
  const coalescer = new Coalescer(call);
  const first = coalescer.run(1);
  const queued = [coalescer.run(2), coalescer.run(3), coalescer.run(4)];
  expect(calls.map((c) => c.requests)).toEqual([[1]]);
  calls[0]!.settle();
  expect(await first).toBe('done 1');
  await tick();
  expect(calls.map((c) => c.requests)).toEqual([[1], [2, 3, 4]]);
  calls[1]!.settle();
  expect(await Promise.all(queued)).toEqual(['done 2', 'done 3', 'done 4']);
});

test('a failed call fails its requests only; the next ones are still sent', async () => {
  const { calls, call } = manualCall<string>();
  const coalescer = new Coalescer(call);
  const failing = [coalescer.run('a'), coalescer.run('b')];
  const later = coalescer.run('c');
  calls[0]!.settle(new Error('temporal down'));
  await expect(failing[0]).rejects.toThrow('temporal down');
  await tick();
  expect(calls.map((c) => c.requests)).toEqual([['a'], ['b', 'c']]);
  calls[1]!.settle(new Error('still down'));
  await expect(failing[1]).rejects.toThrow('still down');
  await expect(later).rejects.toThrow('still down');
  const recovered = coalescer.run('d');
  calls[2]!.settle();
  expect(await recovered).toBe('done d');
});

test('takeInOrder asks once for the sum and serves earlier requests first', async () => {
  const asked: number[] = [];
  const take = takeInOrder(async (count: number) => {
    asked.push(count);
    return ['j1', 'j2', 'j3', 'j4'].slice(0, Math.min(count, 4));
  });
  expect(await take([2, 1, 3])).toEqual([['j1', 'j2'], ['j3'], ['j4']]);
  expect(asked).toEqual([6]);
});
