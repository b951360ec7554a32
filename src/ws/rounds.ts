/**
 * Visits every member of a set once per round of `slices` ticks, a slice per tick, so that no
 * tick loops over them all (the heartbeat: see attachWebSocket). A member added during a round
 * is visited in it unless the round has passed its place; one deleted is not visited; the
 * round's last tick takes whatever is left, however the set changed.
 */
export class SlicedRounds<T> {
  private round: Iterator<T> | undefined;
  private tickInRound = 0;

  constructor(
    private readonly members: Set<T>,
    private readonly slices: number,
  ) {}

  tick(visit: (member: T) => void): void {
    this.round ??= this.members.values();
    const lastTick = ++this.tickInRound >= this.slices;
    let budget = lastTick ? Number.POSITIVE_INFINITY : Math.ceil(this.members.size / this.slices);
    while (budget > 0) {
      const next = this.round.next();
      if (next.done) break;
      visit(next.value);
      budget--;
    }
    if (lastTick) {
      this.round = undefined;
      this.tickInRound = 0;
    }
  }
}
