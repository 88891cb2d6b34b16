"""Moves per second of the space core against a naive scan-everyone baseline.

The crowd: people stand in groups of 2-8 around meeting points spread over a
large map with desks (20 tiles² per person: 1000 x 1000 for 50,000). Each
move goes through `Space.move`, which returns the events to send. Workloads:

* mixed (the headline): 60% of moves are steps of the 2% of people walking
  over to a meeting point within 40 tiles (on arrival they sit down there and
  someone else gets up); 40% are fidgets of anyone around their meeting point.
* fidget: every move is a fidget, so nearly every move is inside a crowd and
  calls form, split and fill up all the time: the worst case for the core.
* viewports: mixed, with everyone's area of interest set to a 40 x 24 viewport
  around their meeting point, so each move also finds its watchers.

The baseline does what the original system did: on every move it scans every
user to recompute who is near the mover (with the same hysteresis), and
nothing else, which flatters it. It takes the mixed workload's moves, and is
time-boxed: a fixed small number of moves, or fewer if they take too long.

Each workload's moves are chosen first (where a move lands decides the next, so
they are made on a space of their own), then replayed, timed, on a copy of that
space and by the baseline from the same cells: both sides answer exactly the
same moves, and choosing them costs neither. The core and the baseline take
turns, five rounds of a slice of each back to back, and the speed-up is the
median of the rounds' ratios: this machine's speed drifts by a third over
minutes, and a slow spell then slows both sides of a ratio alike.

    python benchmarks/bench_core.py            # 1k, 10k and 50k users
    python benchmarks/bench_core.py --quick    # a smoke run in a few seconds

Prints a table and writes benchmarks/results/core.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from metaverse.core import Element, Position, Rect, Snapshot, Space, SpaceConfig, SpaceMap, UserId
from metaverse.core.events import Movement
from metaverse.core.geometry import distance_sq
from metaverse.core.snapshot import UserState

RESULTS = Path(__file__).parent / "results" / "core.json"
TILES_PER_USER = 20
DESK_SHARE = 0.02
WALKING_SHARE = 0.02
WALK_TILES = 40
WALKER_MOVES = 0.6
VIEWPORT = (40, 24)
DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))
BASELINE_BUDGET_S = 3.0
# Turns the core's mixed workload and the baseline take (see `bench`).
ROUNDS = 5


@dataclass
class Run:
    moves: int
    moves_per_s: float
    accepted_share: float
    events_per_move: float
    seconds: float


def combined(runs: list[Run]) -> Run:
    """Runs of one workload taken as one."""
    moves = sum(run.moves for run in runs)
    seconds = sum(run.seconds for run in runs)
    return Run(
        moves,
        round(moves / seconds),
        round(sum(run.accepted_share * run.moves for run in runs) / moves, 3),
        round(sum(run.events_per_move * run.moves for run in runs) / moves, 2),
        round(seconds, 3),
    )


@dataclass
class Round:
    """A slice of the core's mixed workload and one of the baseline's, back to back."""

    core_moves_per_s: float
    baseline_moves: int
    baseline_moves_per_s: float

    @property
    def speed_up(self) -> float:
        return self.core_moves_per_s / self.baseline_moves_per_s


@dataclass
class Row:
    users: int
    map_side: int
    setup_s: float
    calls_after: int
    baseline_moves: int
    baseline_moves_per_s: float
    mixed: Run
    fidget: Run
    viewports: Run
    rounds: list[Round]

    @property
    def speed_up(self) -> float:
        """The median of the rounds' ratios (each round's two sides ran at one speed)."""
        return statistics.median(round_.speed_up for round_ in self.rounds)


@dataclass
class Crowd:
    space_map: SpaceMap
    cells: dict[UserId, Position]
    anchors: dict[UserId, Position]


def build_crowd(users: int, rng: random.Random) -> Crowd:
    """A map with desks, and people placed in groups of 2-8 around meeting points."""
    side = max(60, round(math.sqrt(users * TILES_PER_USER)))
    desks = [
        Element(rng.randrange(side - 1), rng.randrange(side), 2, 1, static=True)
        for _ in range(int(side * side * DESK_SHARE / 2))
    ]
    blocked = {(d.x + i, d.y) for d in desks for i in range(2)}
    cells: dict[UserId, Position] = {}
    anchors: dict[UserId, Position] = {}
    while len(cells) < users:
        meeting = Position(rng.randrange(3, side - 3), rng.randrange(3, side - 3))
        for _ in range(min(rng.randint(2, 8), users - len(cells))):
            cell = Position(meeting.x + rng.randint(-2, 2), meeting.y + rng.randint(-2, 2))
            if cell not in blocked:
                user = UserId(f"user-{len(cells)}")
                cells[user] = cell
                anchors[user] = meeting
    return Crowd(SpaceMap(side, side, elements=tuple(desks)), cells, anchors)


def near_pairs(cells: dict[UserId, Position], radius: float) -> tuple[tuple[UserId, UserId], ...]:
    """Pairs within `radius`, found through a grid so that setup stays linear."""
    size = math.ceil(radius)
    buckets: dict[tuple[int, int], list[UserId]] = {}
    for user, cell in cells.items():
        buckets.setdefault((cell.x // size, cell.y // size), []).append(user)
    pairs = set()
    for user, cell in cells.items():
        bx, by = cell.x // size, cell.y // size
        for x in (bx - 1, bx, bx + 1):
            for y in (by - 1, by, by + 1):
                for other in buckets.get((x, y), ()):
                    if user < other and distance_sq(cell, cells[other]) <= radius * radius:
                        pairs.add((user, other))
    return tuple(sorted(pairs))


def build_space(crowd: Crowd, config: SpaceConfig, rng: random.Random) -> Space:
    """A space with everyone present and calls settled, in linear time.

    Joining one by one costs O(n) each (space-joined lists everyone), so the
    crowd is restored from a snapshot with everyone on `dnd` (in no call, so the
    snapshot is consistent), then each one sets `available`, as if arriving.
    """
    users = {
        user: UserState(cell.x, cell.y, "dnd", "", True, None) for user, cell in crowd.cells.items()
    }
    pairs = near_pairs(crowd.cells, config.proximity_radius_tiles)
    snapshot = Snapshot(users, {}, pairs, joins=len(users), calls_started=0)
    space = Space.from_snapshot(crowd.space_map, snapshot, config=config)
    order = list(users)
    rng.shuffle(order)
    for user in order:
        space.set_status(user, "available")
    return space


def fidget(cell: Position, anchor: Position, draw: int) -> tuple[int, int]:
    """Mostly random; back towards the meeting point when wandering off."""
    if draw % 3 == 0 and distance_sq(cell, anchor) > 4:
        return heading(cell, anchor, draw >> 2)
    return DIRECTIONS[draw % 4]


def heading(cell: Position, target: Position, draw: int) -> tuple[int, int]:
    """A step towards `target` on either axis that gets closer (the draw picks)."""
    dx, dy = target.x - cell.x, target.y - cell.y
    if dx and (not dy or draw & 1):
        return (1 if dx > 0 else -1, 0)
    if dy:
        return (0, 1 if dy > 0 else -1)
    return DIRECTIONS[draw % 4]


class Walkers:
    """People walking over to a nearby meeting point; on arrival someone else sets off."""

    def __init__(self, crowd: Crowd, rng: random.Random) -> None:
        self.rng = rng
        self.people = list(crowd.cells)
        self.anchors = crowd.anchors
        self.meetings = sorted(set(crowd.anchors.values()))
        count = max(1, round(len(self.people) * WALKING_SHARE))
        self.walking = rng.sample(self.people, count)
        self.targets = {user: self._destination(user) for user in self.walking}

    def _destination(self, user: UserId) -> Position:
        home = self.anchors[user]
        there = home
        for _ in range(20):
            there = self.rng.choice(self.meetings)
            if there != home and abs(there.x - home.x) + abs(there.y - home.y) <= WALK_TILES:
                break
        return there

    def pick(self, draw: int) -> UserId:
        return self.walking[draw % len(self.walking)]

    def step(self, user: UserId, cell: Position, draw: int) -> tuple[int, int]:
        target = self.targets[user]
        if distance_sq(cell, target) > 2:
            return heading(cell, target, draw)
        # Arrived: sit down here, and someone who isn't walking gets up.
        self.anchors[user] = target
        del self.targets[user]
        other = self.rng.choice(self.people)
        while other in self.targets:
            other = self.rng.choice(self.people)
        self.walking[self.walking.index(user)] = other
        self.targets[other] = self._destination(other)
        return DIRECTIONS[draw % 4]


Step = tuple[UserId, int, int]


def record(space: Space, crowd: Crowd, moves: int, workload: str, seed: int) -> Recording:
    """Choose `moves` moves of `workload`, making them on `space` as they are chosen (where
    each lands decides the next): untimed, so that choosing them costs neither side."""
    rng = random.Random(seed)
    walkers = Walkers(crowd, rng)
    people = list(crowd.cells)
    anchors = crowd.anchors
    plan = [(rng.randrange(1 << 30), rng.choice(people)) for _ in range(moves)]
    walk = workload != "fidget"
    steps: list[Step] = []
    accepted = events = 0
    for draw, fidgeter in plan:
        if walk and draw % 10 < WALKER_MOVES * 10:
            user = walkers.pick(draw >> 4)
            cell = space.position(user)
            dx, dy = walkers.step(user, cell, draw >> 8)
        else:
            user = fidgeter
            cell = space.position(user)
            dx, dy = fidget(cell, anchors[user], draw >> 4)
        steps.append((user, cell.x + dx, cell.y + dy))
        out = space.move(*steps[-1])
        events += len(out)
        accepted += isinstance(out[0], Movement)
    return Recording(steps, round(accepted / moves, 3), round(events / moves, 2))


@dataclass
class Recording:
    steps: list[Step]
    accepted_share: float
    events_per_move: float


def replay(space: Space, recording: Recording, start: int = 0, stop: int | None = None) -> Run:
    """Time the recorded moves [start, stop) through `space`, which must stand where the
    recording space stood before them: the same moves then get the same answers."""
    steps = recording.steps[start:stop]
    move = space.move
    started = time.process_time()
    for user, x, y in steps:
        move(user, x, y)
    elapsed = time.process_time() - started
    return Run(
        len(steps),
        round(len(steps) / elapsed),
        recording.accepted_share,
        recording.events_per_move,
        round(elapsed, 3),
    )


class Baseline:
    """The original approach: every move scans every user to recompute nearness."""

    def __init__(self, crowd: Crowd, config: SpaceConfig) -> None:
        self.cells = dict(crowd.cells)
        self.width, self.height = crowd.space_map.width, crowd.space_map.height
        self.blocked = {
            (e.x + i, e.y + j)
            for e in crowd.space_map.elements
            for i in range(e.width)
            for j in range(e.height)
        }
        self.enter = config.proximity_radius_tiles**2
        self.leave = config.proximity_leave_radius_tiles**2
        self.near: dict[UserId, set[UserId]] = {user: set() for user in self.cells}
        for a, b in near_pairs(self.cells, config.proximity_radius_tiles):
            self.near[a].add(b)
            self.near[b].add(a)

    def move(self, user: UserId, x: int, y: int) -> bool:
        if not (0 <= x < self.width and 0 <= y < self.height) or (x, y) in self.blocked:
            return False
        self.cells[user] = Position(x, y)
        mine = self.near[user]
        for other, cell in self.cells.items():
            if other == user:
                continue
            d2 = (cell.x - x) ** 2 + (cell.y - y) ** 2
            if d2 <= self.enter or (other in mine and d2 <= self.leave):
                if other not in mine:
                    mine.add(other)
                    self.near[other].add(user)
            elif other in mine:
                mine.discard(other)
                self.near[other].discard(user)
        return True


class BaselineReplay:
    """The baseline taking the recorded moves in order, a slice at a time."""

    def __init__(self, crowd: Crowd, config: SpaceConfig, recording: Recording) -> None:
        self.baseline = Baseline(crowd, config)
        self.steps = recording.steps
        self.next = 0

    def run(self, moves: int, budget_s: float) -> tuple[int, float]:
        """The next `moves` moves, or fewer once `budget_s` is spent; (moves done, seconds)."""
        move = self.baseline.move
        done = 0
        started = time.process_time()
        for user, x, y in self.steps[self.next : self.next + moves]:
            move(user, x, y)
            done += 1
            if time.process_time() - started > budget_s:
                break
        self.next += done
        return done, time.process_time() - started


def bench(users: int, core_moves: int, baseline_moves: int, seed: int) -> Row:
    rng = random.Random(seed)
    config = SpaceConfig()
    started = time.process_time()
    crowd = build_crowd(users, rng)
    chooser = build_space(crowd, config, rng)
    setup_s = time.process_time() - started
    # The moves are chosen first, on a space of their own, then replayed on a copy of it
    # and by the baseline, starting from the same cells: both answer the same moves.
    # (Choosing moves the crowd's anchors, never its first cells, which the baseline starts
    # from.)
    timed = Space.from_snapshot(crowd.space_map, chooser.snapshot(), config=config)
    mixed_moves = record(chooser, crowd, core_moves, "mixed", seed)
    baseline = BaselineReplay(crowd, config, mixed_moves)
    # The machine's speed drifts by a third over minutes, so the core and the baseline
    # take turns: each round times a slice of both back to back, the speed-up is the
    # median of the rounds' ratios, and a slow spell slows both sides.
    rounds: list[Round] = []
    core_runs: list[Run] = []
    size = core_moves // ROUNDS
    for n in range(ROUNDS):
        core_runs.append(replay(timed, mixed_moves, n * size, (n + 1) * size))
        done, seconds = baseline.run(baseline_moves // ROUNDS, BASELINE_BUDGET_S / ROUNDS)
        rounds.append(Round(core_runs[-1].moves_per_s, done, round(done / seconds, 1)))
    mixed = combined(core_runs)
    fidget_moves = record(chooser, crowd, core_moves, "fidget", seed + 1)
    fidgets = replay(timed, fidget_moves)
    width, height = VIEWPORT
    for user in crowd.cells:
        anchor = crowd.anchors[user]
        viewport = Rect(anchor.x - width // 2, anchor.y - height // 2, width, height)
        chooser.set_viewport(user, viewport)
        timed.set_viewport(user, viewport)
    viewport_moves = record(chooser, crowd, core_moves, "mixed", seed + 2)
    viewports = replay(timed, viewport_moves)
    replayed = timed.snapshot()
    assert replayed == chooser.snapshot(), "the replay answered moves otherwise than recorded"
    return Row(
        users=users,
        map_side=crowd.space_map.width,
        setup_s=round(setup_s, 2),
        calls_after=len(replayed.calls),
        baseline_moves=sum(round_.baseline_moves for round_ in rounds),
        baseline_moves_per_s=round(statistics.median(r.baseline_moves_per_s for r in rounds), 1),
        mixed=mixed,
        fidget=fidgets,
        viewports=viewports,
        rounds=rounds,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Core moves/s against a naive baseline.")
    parser.add_argument("--quick", action="store_true", help="a smoke run in a few seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        plan = [(1_000, 2_000, 200), (10_000, 2_000, 50)]
    else:
        plan = [(1_000, 30_000, 2_000), (10_000, 30_000, 500), (50_000, 30_000, 200)]
    rows = [bench(users, core, base, args.seed) for users, core, base in plan]
    print(
        f"{'users':>7} {'core moves/s':>13} {'baseline moves/s':>17} {'speed-up':>9}"
        f" {'fidget moves/s':>15} {'viewports moves/s':>18}"
    )
    for row in rows:
        print(
            f"{row.users:>7,} {row.mixed.moves_per_s:>13,.0f} {row.baseline_moves_per_s:>17,.1f}"
            f" {row.speed_up:>8,.0f}x {row.fidget.moves_per_s:>15,.0f}"
            f" {row.viewports.moves_per_s:>18,.0f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "core moves per second (see benchmarks/bench_core.py)",
        "quick": args.quick,
        "python": platform.python_version(),
        "rows": [asdict(row) | {"speed_up": round(row.speed_up, 1)} for row in rows],
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
