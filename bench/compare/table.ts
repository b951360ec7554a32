/** The side-by-side table: one row per figure, the reference first, then each service column. */
import { percentile } from '../report.js';
import type { ScenarioFigures } from './index.js';

export interface Column {
  label: string;
  runs: ScenarioFigures[];
}

interface Figure {
  name: string;
  unit: string;
  value: (figures: ScenarioFigures) => number;
  digits?: number;
}

const FIGURES: Figure[] = [
  { name: 'connection setup rate', unit: 'sockets/s', value: (f) => f.connectsPerSecond },
  { name: 'server CPU per connect', unit: 'µs', value: (f) => f.serverCpuPerConnectUs },
  { name: 'connect → first message p50', unit: 'ms', value: (f) => f.connectP50Ms, digits: 1 },
  { name: 'connect → first message p99', unit: 'ms', value: (f) => f.connectP99Ms, digits: 1 },
  { name: 'RSS per idle socket', unit: 'KB', value: (f) => f.rssPerSocketBytes / 1000, digits: 2 },
  {
    name: 'heap per idle socket',
    unit: 'KB',
    value: (f) => f.heapPerSocketBytes / 1000,
    digits: 2,
  },
  {
    name: "the busiest process's share of the sockets",
    unit: '%',
    value: (f) => f.busiestShare * 100,
  },
  {
    name: 'server CPU at rest (sockets idle)',
    unit: '%',
    value: (f) => f.idleCpuPercent,
    digits: 1,
  },
  { name: 'fan-out latency p50', unit: 'ms', value: (f) => f.fanOut.p50Ms, digits: 1 },
  { name: 'fan-out latency p99', unit: 'ms', value: (f) => f.fanOut.p99Ms, digits: 1 },
  { name: 'fan-out latency max', unit: 'ms', value: (f) => f.fanOut.maxMs, digits: 1 },
  {
    name: 'fan-out, commit → push p50',
    unit: 'ms',
    value: (f) => f.fanOut.pushP50Ms,
    digits: 1,
  },
  { name: 'fan-out messages delivered', unit: '', value: (f) => f.fanOut.delivered },
  {
    name: 'server CPU per fan-out message',
    unit: 'µs',
    value: (f) => f.fanOut.serverCpuPerMessageUs,
  },
];

const median = (values: number[]) => percentile(values, 50);

function format(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '—';
  return value.toLocaleString('en', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * Medians over each column's runs. `indexer`: settlements/s per service column (the reference
 * has no indexer), in the same order as the service columns.
 */
export function compareTable(columns: Column[], indexer?: number[]): string {
  const [reference, ...services] = columns;
  if (!reference) return '';
  const header = ['figure', reference.label];
  for (const column of services) header.push(column.label, 'ratio');
  const lines = [
    `| ${header.join(' | ')} |`,
    `| --- | ${header
      .slice(1)
      .map(() => '---:')
      .join(' | ')} |`,
  ];
  const fanOut = reference.runs[0]?.fanOut;
  const bursts = fanOut && fanOut.bursts > 1 ? `, ${fanOut.bursts} bursts` : '';
  for (const figure of FIGURES) {
    const name =
      figure.name.startsWith('fan-out') && figure.name !== 'fan-out messages delivered'
        ? `${figure.name} (${format(fanOut?.settlements ?? 0)} settlements at once${bursts})`
        : figure.name;
    const base = median(reference.runs.map(figure.value));
    const cells = [`${name}${figure.unit ? ` (${figure.unit})` : ''}`, format(base, figure.digits)];
    for (const column of services) {
      const value = median(column.runs.map(figure.value));
      cells.push(format(value, figure.digits), base > 0 ? `${format(value / base, 2)}×` : '—');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (indexer) {
    const cells = ['indexer throughput, from the sandbox chain (settlements/s)', '—'];
    for (const [index] of services.entries()) cells.push(format(indexer[index] ?? NaN), '');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
