import { describe, expect, it } from 'vitest';
import { SlicedRounds } from './rounds.js';

/** The members each tick visits, for `ticks` ticks. */
function run<T>(rounds: SlicedRounds<T>, ticks: number, between?: (tick: number) => void): T[][] {
  const visited: T[][] = [];
  for (let tick = 0; tick < ticks; tick++) {
    between?.(tick);
    const slice: T[] = [];
    rounds.tick((member) => slice.push(member));
    visited.push(slice);
  }
  return visited;
}

describe('SlicedRounds', () => {
  it('visits every member once per round, a slice per tick, the last tick taking the rest', () => {
    const members = new Set(Array.from({ length: 10 }, (_, i) => i));
    const visited = run(new SlicedRounds(members, 4), 8);
    expect(visited.map((slice) => slice.length)).toEqual([3, 3, 3, 1, 3, 3, 3, 1]);
    expect(visited.slice(0, 4).flat()).toEqual([...members]);
    expect(visited.slice(4).flat()).toEqual([...members]);
  });

  it('visits a member added during a round in it, and not one deleted before its turn', () => {
    const members = new Set([1, 2, 3, 4]);
    const visited = run(new SlicedRounds(members, 2), 4, (tick) => {
      if (tick === 1) {
        members.add(5);
        members.delete(4);
      }
    });
    expect(visited).toEqual([
      [1, 2],
      [3, 5],
      [1, 2],
      [3, 5],
    ]);
  });

  it('keeps the round length when the set empties, and visits nothing', () => {
    const members = new Set([1, 2, 3]);
    const visited = run(new SlicedRounds(members, 3), 6, (tick) => {
      if (tick === 1) members.clear();
      if (tick === 4) members.add(9);
    });
    expect(visited).toEqual([[1], [], [], [], [9], []]);
  });

  it('with one slice visits everything every tick', () => {
    const members = new Set(['a', 'b']);
    expect(run(new SlicedRounds(members, 1), 2)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });
});
