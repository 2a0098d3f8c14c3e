/**
 * docs/architecture.svg is drawn from the synthesized sample app by scripts/architecture.ts. It is
 * regenerated here and compared: a resource added to or removed from the sample app makes it stale.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

test('docs/architecture.svg is up to date with the sample app (regenerate: npm run architecture)', () => {
  const fresh = execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'scripts', 'architecture.ts'), '--print'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const committed = readFileSync(join(ROOT, 'docs', 'architecture.svg'), 'utf8');
  expect(fresh).toContain('<svg');
  // Compared as text so that a failure shows which nodes or edges differ.
  expect(committed).toEqual(fresh);
});

test('the picture names every construct of the sample app and the Purple Flea API', () => {
  const svg = readFileSync(join(ROOT, 'docs', 'architecture.svg'), 'utf8');
  for (const cluster of [
    'Trader (PredictToTrade)',
    'TrainingBonus (TrainingBonusEscrow)',
    'Payouts (BatchPayout)',
    'FraudHolds (FraudHoldEscrow)',
    'PurpleFlea (PurpleFleaConnection)',
  ]) {
    expect(svg).toContain(cluster);
  }
  expect(svg).toContain('Purple Flea API');
});

test('each construct reaches the shared connection (ledger, key, Purple Flea) by one edge, and what is outside the stack is grouped', () => {
  // Imported here: the module builds the sample app when asked, not when the file loads.
  const { architectureDot } = require('../scripts/architecture') as { architectureDot: () => string };
  const dot = architectureDot();
  const toConnection = dot.split('\n').filter((line) => line.includes('lhead="cluster_PurpleFlea"'));
  const owners = toConnection.map((line) => /ltail="cluster_([^"]+)"/.exec(line)?.[1]).sort();
  expect(owners).toEqual(
    ['FraudHolds', 'ModelAgents', 'Payouts', 'Trader', 'TrainingBonus'].filter((o) => dot.includes(`cluster_${o}"`)).sort(),
  );
  // No function draws its own edge to the ledger, the key's secret or Purple Flea any more.
  const own = dot.split('\n').filter((line) => /-> "(ext_secret|ext_purpleflea)"/.test(line));
  expect(own).toEqual([]);
  expect(dot).toContain('subgraph "cluster_outside"');
});
