/**
 * The seed for a fast-check property: FC_SEED when set (to replay a failure), otherwise random.
 * Printed so that any run, failing or not, can be reproduced.
 */
export function propertySeed(name: string): number {
  const fromEnv = process.env.FC_SEED;
  const seed = fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[fast-check] ${name}: seed ${seed} (replay with FC_SEED=${seed})`);
  return seed;
}
