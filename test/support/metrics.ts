import type { RunningNode } from '../../src/node.js';

/**
 * A metric's value on a node's own registry, summed over the series whose labels include
 * `labels` (0 when there is none yet). Collect callbacks run, as on a scrape.
 */
export async function metricValue(
  node: Pick<RunningNode, 'metrics'>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = node.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((value) =>
      Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
    )
    .reduce((sum, value) => sum + value.value, 0);
}

/** A histogram's `_count` or `_sum` series on a node's own registry (0 before any observation). */
export async function histogramValue(
  node: Pick<RunningNode, 'metrics'>,
  name: string,
  series: 'count' | 'sum',
): Promise<number> {
  const metric = node.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const wanted = `${name}_${series}`;
  return values
    .filter((value) => (value as { metricName?: string }).metricName === wanted)
    .reduce((sum, value) => sum + value.value, 0);
}
