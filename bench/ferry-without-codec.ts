/**
 * Ferry as `npm start` runs it, but with Temporal's default data converter: payloads in clear. Only
 * for `npm run bench:codec`, which measures what the payload codec costs against this.
 */
import { main } from '../src/main';
import { runMain } from '../src/process';

runMain((config) => main(config, {}));
