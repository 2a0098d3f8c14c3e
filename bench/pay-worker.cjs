/**
 * Entry of a Pay worker thread (bench/batch-payout-drive.ts, startPayWorkers): registers tsx's
 * CommonJS loader in this thread, then runs bench/pay-worker.ts. (`execArgv: ['--import', 'tsx']`
 * does not reach a worker's own entry file on Node 20.)
 */
require('tsx/cjs');
require('./pay-worker.ts');
