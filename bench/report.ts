/** The benchmark's printed report: timings, round trips, cold start, bundle and the issue 2 summary. */
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import type { ColdRun } from './cold-start';
import { BLOCK_SIZE, BUNDLE, COLD_PROCESSES, Handler, REPO_ROOT, TARGETS, WARM_INVOCATIONS, WARMUP_INVOCATIONS } from './scenario';
import { ms, pad, Stats, stats, table } from './stats';
import { connections, Counts, roundTrips } from './stand-ins-protocol';

export interface Variant {
  readonly name: string;
  readonly description: string;
  readonly handler: Handler;
  /** Round trips expected per warm invocation, by service (checked: a difference fails the run). */
  readonly expected: Pick<Counts, 'invokeEndpoint' | 'getSecretValue' | 'otherAws' | 'dynamodb' | 'purpleflea'>;
  /** ms per timed invocation. */
  samples: number[];
  /** CPU time (user + system) of the bench process during the timed blocks, microseconds. */
  cpuMicros: number;
  /** What the stand-ins saw during this variant's timed blocks. */
  counts: Counts;
  logBytes: number;
}

export interface BenchRun {
  /** ours, ours+cap, ours-quiet, bare, in this order. */
  readonly variants: readonly Variant[];
  readonly warmupCounts: Counts;
  readonly cold: { readonly plain: readonly ColdRun[]; readonly maps: readonly ColdRun[]; readonly noMap: readonly ColdRun[] };
  readonly bundleBytes: number;
  readonly loadAverage: { readonly start: number; readonly end: number };
  readonly wallMs: { readonly warmup: number; readonly measure: number; readonly total: number };
  /** Wrong round-trip or order counts (the run fails). */
  readonly problems: readonly string[];
}

export function report(run: BenchRun): string[] {
  const lines: string[] = [];
  const say = (line = '') => lines.push(line);
  const { variants } = run;
  const s = Object.fromEntries(variants.map((v) => [v.name, stats(v.samples)])) as Record<string, Stats>;

  say('PredictToTrade benchmark');
  say(`  bundle ${relative(REPO_ROOT, BUNDLE)}, node ${process.version}, ${WARM_INVOCATIONS} warm invocations per variant`);
  say(`  (after ${WARMUP_INVOCATIONS} warm-up each), sequential, interleaved in blocks of ${BLOCK_SIZE}, no added latency.`);
  say('  stand-ins: the Purple Flea sandbox, fake AWS and dynalite run in ONE separate node process (bench/stand-ins-process.ts)');
  say("  on 127.0.0.1, so the time they spend answering (mostly dynalite) no longer runs on the handler's thread and is no");
  say('  longer in the figures as handler work; the handler still waits for each answer (loopback round trip + answer time),');
  say('  as it waits for the real services.');
  say('  output: Powertools logs and EMF written to a sink that discards them while measuring (process.stdout/stderr.write replaced),');
  say('  so logging is measured; the "ours-quiet" variant also shows the handler with logs and metrics switched off by env.');
  say(
    `  machine: ${availableParallelism()} CPUs, 1-min load average ${run.loadAverage.start.toFixed(2)} at start, ${run.loadAverage.end.toFixed(2)} at end ` +
      '(other work on the machine shows up in p90/p99; compare the variants within one run)',
  );
  say();

  say('Warm invocation time (ms)');
  say(
    table(
      [
        ['variant', 'median', 'p90', 'p99', 'mean', 'min', 'max', 'CPU: handler*', 'stand-ins*', 'log+EMF bytes/inv'],
        ...variants.map((v) => {
          const st = s[v.name];
          const cpuMs = (micros: number) => ms(micros / 1000 / st.n);
          return [
            v.name,
            ms(st.median),
            ms(st.p90),
            ms(st.p99),
            ms(st.mean),
            ms(st.min),
            ms(st.max),
            cpuMs(v.cpuMicros),
            cpuMs(v.counts.cpuMicros),
            (v.logBytes / st.n).toFixed(0),
          ];
        }),
      ],
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ),
  );
  say("  * mean CPU ms (user + system, process.cpuUsage()) per invocation during the variant's timed blocks, of the bench");
  say('    process (the handler, plus the loop making events and the discarding sink) and of the stand-ins process (answering,');
  say('    now outside the measured process; the handler waits for the answers, so their latency, not their CPU, is in the times).');
  for (const v of variants) say(`  ${pad(v.name, 11)} ${v.description}`);
  say();

  say('Ratios (same run)');
  const ratio = (a: string, b: string) => [
    `${a} / ${b}`,
    ...(['median', 'p99', 'mean'] as const).map((k) => `${(s[a][k] / s[b][k]).toFixed(2)}x`),
  ];
  say(
    table(
      [
        ['', 'median', 'p99', 'mean'],
        ratio('ours', 'bare'),
        ratio('ours+cap', 'bare'),
        ratio('ours-quiet', 'bare'),
        ratio('ours', 'ours-quiet'),
      ],
      [1, 2, 3],
    ),
  );
  say();

  say('Network round trips per warm invocation (requests reaching each stand-in / invocations)');
  const perInv = (x: number, n: number) => (x / n).toFixed(3);
  say(
    table(
      [
        [
          'variant',
          'SageMaker Runtime',
          'Secrets Manager',
          'other AWS',
          'DynamoDB',
          'Purple Flea',
          'total',
          'expected',
          'orders',
          'new TCP conns (AWS/DDB/PF)',
        ],
        ...variants.map((v) => {
          const n = v.samples.length;
          const c = v.counts;
          return [
            v.name,
            perInv(c.invokeEndpoint, n),
            perInv(c.getSecretValue, n),
            perInv(c.otherAws, n),
            perInv(c.dynamodb, n),
            perInv(c.purpleflea, n),
            perInv(roundTrips(c), n),
            String(roundTrips(v.expected)),
            String(c.orders),
            `${c.awsConnections}/${c.dynamoConnections}/${c.purplefleaConnections}`,
          ];
        }),
      ],
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ),
  );
  const w = run.warmupCounts;
  say(
    `  warm-up (${WARMUP_INVOCATIONS} x ${variants.length}, first calls of each client included): ${w.getSecretValue} GetSecretValue, ` +
      `${connections(w)} new TCP connections, ${w.orders} orders`,
  );
  say('  "new TCP conns": connections each stand-in (fake AWS / dynalite / Purple Flea sandbox) accepted during the timed blocks');
  say('  (0 = keep-alive reused throughout; the variants are idle while the others run their blocks).');
  say();

  const { plain, maps, noMap } = run.cold;
  const init = (runs: readonly ColdRun[]) => stats(runs.map((r) => r.initMs));
  const first = (runs: readonly ColdRun[]) => stats(runs.map((r) => r.firstInvokeMs));
  const coldRow = (label: string, runs: readonly ColdRun[]) => {
    const [i, f] = [init(runs), first(runs)];
    return [label, ms(i.median, 1), ms(i.min, 1), ms(i.max, 1), ms(f.median, 1), ms(f.min, 1), ms(f.max, 1)];
  };
  say(
    `Cold start (${COLD_PROCESSES} fresh node processes each; require() of the bundle timed inside the child with process.hrtime.bigint)`,
  );
  say(
    table(
      [
        ['NODE_OPTIONS', 'init median', 'min', 'max', '1st invoke median', 'min', 'max'],
        coldRow('(none)', plain),
        coldRow('--enable-source-maps', maps),
        coldRow('--enable-source-maps, no .map', noMap),
      ],
      [1, 2, 3, 4, 5, 6],
    ),
  );
  say('  (ms; "--enable-source-maps" is what the construct sets on the function; "no .map": the bundle copied alone, as the');
  say('   npm package ships it; "1st invoke" = first invocation in the fresh process: lazy SDK loading, the secret fetch,');
  say('   new connections, against the stand-ins process)');
  const kib = run.bundleBytes / 1024;
  say(`Bundle: ${kib.toFixed(1)} KiB (${run.bundleBytes} bytes), ${run.bundleBytes < TARGETS.bundleBytes ? '< 1 MB' : 'NOT < 1 MB'}`);
  say();

  const [oursV, cappedV] = variants;
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT MET');
  const rtOurs = roundTrips(oursV.counts) / oursV.samples.length;
  const rtCapped = roundTrips(cappedV.counts) / cappedV.samples.length;
  const initMaps = init(maps).median;
  const initPlain = init(plain).median;
  say('Summary (issue 2 targets)');
  say(
    table(
      [
        ['measure', 'figure', 'target', ''],
        ['round trips / warm invocation', rtOurs.toFixed(2), `<= ${TARGETS.roundTrips}`, mark(rtOurs <= TARGETS.roundTrips)],
        [
          'round trips / warm inv., daily cap',
          rtCapped.toFixed(2),
          `<= ${TARGETS.roundTripsWithCap}`,
          mark(rtCapped <= TARGETS.roundTripsWithCap),
        ],
        [
          'Secrets Manager calls / warm inv.',
          (oursV.counts.getSecretValue / oursV.samples.length).toFixed(2),
          '0 (cached)',
          mark(oursV.counts.getSecretValue === 0 && cappedV.counts.getSecretValue === 0),
        ],
        ['median ms / warm invocation', ms(s.ours.median), `< ${TARGETS.medianMs}`, mark(s.ours.median < TARGETS.medianMs)],
        ['p99 ms / warm invocation', ms(s.ours.p99), `< ${TARGETS.p99Ms}`, mark(s.ours.p99 < TARGETS.p99Ms)],
        ['median ms, with daily cap', ms(s['ours+cap'].median), `< ${TARGETS.medianMs}`, mark(s['ours+cap'].median < TARGETS.medianMs)],
        ['p99 ms, with daily cap', ms(s['ours+cap'].p99), `< ${TARGETS.p99Ms}`, mark(s['ours+cap'].p99 < TARGETS.p99Ms)],
        ['bare: median / p99 ms', `${ms(s.bare.median)} / ${ms(s.bare.p99)}`, '(reference)', ''],
        ['ours / bare (median)', `${(s.ours.median / s.bare.median).toFixed(2)}x`, '(reference)', ''],
        ['cold init ms (median, source maps on)', ms(initMaps, 1), `< ${TARGETS.coldInitMs}`, mark(initMaps < TARGETS.coldInitMs)],
        ['cold init ms (median, NODE_OPTIONS none)', ms(initPlain, 1), `< ${TARGETS.coldInitMs}`, mark(initPlain < TARGETS.coldInitMs)],
        ['bundle size', `${kib.toFixed(0)} KiB`, '< 1 MB', mark(run.bundleBytes < TARGETS.bundleBytes)],
      ],
      [1],
    ),
  );
  say(
    `  timing targets are reported, never enforced. Wall time: warm-up ${run.wallMs.warmup} ms, timed blocks ${run.wallMs.measure} ms, ` +
      `total ${(run.wallMs.total / 1000).toFixed(1)} s.`,
  );
  if (run.problems.length > 0) {
    say();
    say('ROUND-TRIP CHECK FAILED:');
    for (const problem of run.problems) say(`  ${problem}`);
  } else {
    say('  round-trip counts as expected for every variant; every invocation SUCCEEDED with a new order.');
  }
  return lines;
}
