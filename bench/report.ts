import { cpus, totalmem } from 'node:os';

export interface Row {
  figure: string;
  value: number;
  unit: string;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export function table(rows: Row[]): string {
  const lines = ['| figure | value | unit |', '| --- | ---: | --- |'];
  for (const row of rows) {
    const value = row.value >= 100 ? row.value.toFixed(0) : row.value.toFixed(1);
    lines.push(`| ${row.figure} | ${value} | ${row.unit} |`);
  }
  return lines.join('\n');
}
