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
