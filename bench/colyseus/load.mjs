// The closed-loop load of bench/load.py against bench/colyseus/server.mjs, with the
// Colyseus client (@colyseus/sdk, the successor of colyseus.js): R rooms, two players
// each; every player moves (a random empty cell) as soon as it sees its turn, and both
// ask for a rematch when a game ends. After the warm-up one window is measured: the
// moves the movers see acknowledged (the patch that counts their move), the latency from
// the mover's send to the opponent's patch, the server's CPU from /proc/<pid>/stat, this
// process's own CPU, and the rest of the machine's (interference). It writes the keys of
// bench/load.py's LoadResult, so bench/run.py tabulates both alike.
//
//     node bench/colyseus/load.mjs http://127.0.0.1:2567 --rooms 100 --seconds 20 \
//         --warmup 3 --server-pid <pid> [--json out.json] [--max-rate 20]

import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Client } from "@colyseus/sdk";

const CLK_TCK = 100; // Linux's USER_HZ
const PAGE = 4096;

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

function procCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(/\s+/);
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
}

function procRss(pid) {
  return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE;
}

function vmHwm(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : null;
}

/** CPU seconds the machine was busy (as bench.common.system_busy). */
function systemBusy() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4];
  const stealGuest = fields.slice(7).reduce((a, b) => a + b, 0);
  return (fields.reduce((a, b) => a + b, 0) - idle - stealGuest) / CLK_TCK;
}

function selfCpu() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round((q / 100) * (sorted.length - 1))));
  return sorted[k];
}

/** A mulberry32 generator: the same seed plays the same cells. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const counters = {
  running: false, measuring: false, moves: 0, games: 0, latencies: [],
  dFrames: 0, dBytes: 0, dMax: 0, midFrames: 0, midBytes: 0, midMax: 0,
  errors: {}, closed: 0,
};

class Table {
  constructor() { this.sentAt = 0; this.sentGame = 0; this.sentMoves = -1; this.moves = 0; this.last = 0; this.gap = 0; }
  acked() {
    this.moves += 1;
    const now = performance.now();
    if (now - this.last > this.gap) this.gap = now - this.last;
    this.last = now;
  }
}

class Player {
  constructor(room, table, random, maxRate) {
    this.room = room; this.table = table; this.random = random;
    this.interval = maxRate ? 1000 / maxRate : 0; this.nextSend = 0; this.deferred = false;
    this.acted = ""; this.voted = 0; this.lastFrame = 0;
    const events = room.connection.events;
    const deliver = events.onmessage;
    events.onmessage = (event) => { this.lastFrame = event.data.byteLength; deliver(event); };
    room.onStateChange((state) => this.seen(state));
    room.onMessage("err", (msg) => { counters.errors[msg.code] = (counters.errors[msg.code] ?? 0) + 1; });
    room.onLeave(() => { if (counters.running) counters.closed += 1; });
  }

  seen(state) {
    const table = this.table;
    if (!state.seats) return;
    const seat = state.seats.indexOf(this.room.sessionId);
    if (state.game === table.sentGame && state.moves === table.sentMoves) {
      if (table.mover === this) {
        table.mover = null;
        if (counters.measuring) { counters.moves += 1; table.acked(); }
      } else if (table.opponentSaw !== table.sentKey) {
        table.opponentSaw = table.sentKey;
        if (counters.measuring) {
          counters.latencies.push(performance.now() - table.sentAt);
          const bytes = this.lastFrame;
          counters.dFrames += 1; counters.dBytes += bytes; counters.dMax = Math.max(counters.dMax, bytes);
          if (!state.over) { counters.midFrames += 1; counters.midBytes += bytes; counters.midMax = Math.max(counters.midMax, bytes); }
          else if (seat === 0) counters.games += 1;
        }
      }
    }
    if (counters.running) this.act(state, seat);
  }

  resume() {
    const state = this.room.state;
    if (state?.seats) this.act(state, state.seats.indexOf(this.room.sessionId));
  }

  /** Whether act() would send something now (a paced player spends its turn only then). */
  wouldSend(state, seat) {
    if (state.over) return this.voted !== state.game;
    return state.turn === seat && this.acted !== `${state.game}:${state.moves}`;
  }

  act(state, seat) {
    if (seat === -1) return;
    if (this.interval) { // paced: at most one move or vote per interval, as bench/load.py
      const now = performance.now();
      if (now < this.nextSend) {
        if (!this.deferred) {
          this.deferred = true;
          setTimeout(() => { this.deferred = false; if (counters.running) this.resume(); }, this.nextSend - now);
        }
        return;
      }
      if (this.wouldSend(state, seat)) this.nextSend = now + this.interval;
    }
    if (state.over) {
      if (this.voted !== state.game) { this.voted = state.game; this.room.send("rematch"); }
      return;
    }
    const key = `${state.game}:${state.moves}`;
    if (state.turn !== seat || this.acted === key) return;
    this.acted = key;
    const empty = [];
    state.board.forEach((c, i) => { if (c === -1) empty.push(i); });
    const table = this.table;
    table.mover = this; table.sentGame = state.game; table.sentMoves = state.moves + 1;
    table.sentKey = `${state.game}:${state.moves + 1}`;
    table.sentAt = performance.now();
    this.room.send("move", { cell: empty[Math.floor(this.random() * empty.length)] });
  }
}

async function limited(count, concurrency, make) {
  const out = new Array(count);
  let next = 0;
  async function worker() { while (next < count) { const i = next++; out[i] = await make(i); } }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}

async function main() {
  const url = process.argv[2];
  const rooms = Number(option("rooms", "100"));
  const seconds = Number(option("seconds", "20"));
  const warmup = Number(option("warmup", "3"));
  const pid = option("server-pid", null);
  const out = option("json", null);
  const seed = Number(option("seed", "1"));
  const maxRate = option("max-rate", null) === null ? null : Number(option("max-rate", null));
  const client = new Client(url);
  const began = performance.now();
  const players = (await limited(rooms, 50, async (i) => {
    const table = new Table();
    const first = await client.create("tictactoe");
    const second = await client.joinById(first.roomId);
    return [new Player(first, table, rng(seed * 100003 + 2 * i), maxRate),
      new Player(second, table, rng(seed * 100003 + 2 * i + 1), maxRate)];
  })).flat();
  const tables = [...new Set(players.map((p) => p.table))];
  console.error(`load: playing: ${rooms} rooms set up in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  counters.running = true;
  for (const p of players) { // paced players start at a random point of their interval
    if (p.interval) p.nextSend = performance.now() + p.random() * p.interval;
  }
  for (const p of players) {  // a state still on its way is acted on when it comes
    if (p.room.state?.seats) p.act(p.room.state, p.room.state.seats.indexOf(p.room.sessionId));
  }
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const sample = () => ({ at: performance.now() / 1000, cpu: pid ? procCpu(pid) : 0, rss: pid ? procRss(pid) : 0, system: systemBusy() });
  const samples = [sample()];
  const genStart = selfCpu();
  const opened = performance.now();
  for (const t of tables) t.last = opened;
  counters.measuring = true;
  const timer = setInterval(() => samples.push(sample()), 250);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  counters.measuring = false;
  samples.push(sample());
  const genCpu = selfCpu() - genStart;
  const closedAt = performance.now();
  counters.running = false;
  const window = samples.at(-1).at - samples[0].at;
  const latencies = counters.latencies.sort((a, b) => a - b);
  const roomMoves = tables.map((t) => t.moves);
  const cpu = samples.at(-1).cpu - samples[0].cpu;
  const machine = samples.at(-1).system - samples[0].system;
  const result = {
    server: "colyseus",
    rooms, procs: 1, seconds: Math.round(window * 1000) / 1000,
    moves: counters.moves, moves_per_s: counters.moves / window, games_per_s: counters.games / window,
    latency_samples: latencies.length,
    latency_p50_ms: percentile(latencies, 50), latency_p90_ms: percentile(latencies, 90),
    latency_p99_ms: percentile(latencies, 99), latency_max_ms: latencies.at(-1) ?? null,
    d_bytes_mean: counters.dFrames ? counters.dBytes / counters.dFrames : null, d_bytes_max: counters.dMax,
    d_move_bytes_mean: counters.midFrames ? counters.midBytes / counters.midFrames : null, d_move_bytes_max: counters.midMax,
    gen_cpu_s: genCpu, gen_cpu_pct: (100 * genCpu) / window,
    errors: counters.errors, closed: counters.closed,
    rooms_stalled: roomMoves.filter((n) => n === 0).length,
    room_moves_min: Math.min(...roomMoves), room_moves_max: Math.max(...roomMoves),
    room_gap_max_s: Math.round(Math.max(...tables.map((t) => Math.max(t.gap, closedAt - t.last)))) / 1000,
    servers: 1, max_rate: maxRate, server_pids: pid ? [Number(pid)] : [],
    server_cpu_s: pid ? cpu : null, server_cpu_pct: pid ? (100 * cpu) / window : null,
    server_us_per_move: pid && counters.moves ? (1e6 * cpu) / counters.moves : null,
    server_rss_start: pid ? samples[0].rss : null, server_rss_max: pid ? Math.max(...samples.map((s) => s.rss)) : null,
    server_vmhwm: pid ? vmHwm(pid) : null,
    machine_cpu_pct: (100 * machine) / window,
    redis_pid: null, redis_cpu_s: null, redis_cpu_pct: null, redis_us_per_move: null,
    other_cpu_pct: (100 * Math.max(0, machine - (pid ? cpu : 0) - genCpu)) / window,
  };
  await new Promise((r) => setTimeout(r, 300)); // the moves in flight land before anyone leaves
  await Promise.all(players.map((p) => p.room.leave(true).catch(() => {})));
  const text = JSON.stringify(result, null, 2) + "\n";
  if (out) writeFileSync(out, text);
  console.log(
    `rooms ${rooms} (colyseus), window ${window.toFixed(1)} s\n` +
    `  accepted moves   ${result.moves} = ${result.moves_per_s.toFixed(0)}/s\n` +
    `  move->opponent   p50 ${result.latency_p50_ms?.toFixed(2)} ms, p99 ${result.latency_p99_ms?.toFixed(2)} ms\n` +
    `  patch payload    mean ${result.d_bytes_mean?.toFixed(1)} B, max ${result.d_bytes_max} B; mid-game max ${result.d_move_bytes_max} B\n` +
    `  generator CPU    ${result.gen_cpu_pct.toFixed(0)}% of a core\n` +
    `  moves per room   ${result.room_moves_min} to ${result.room_moves_max}; rooms that made none: ${result.rooms_stalled}\n` +
    (pid ? `  server CPU       ${result.server_cpu_pct.toFixed(0)}% of a core, ${result.server_us_per_move?.toFixed(1)} us per accepted move\n` : "") +
    `  other processes  ${result.other_cpu_pct.toFixed(0)}% of a core (interference)\n` +
    `  errors ${JSON.stringify(result.errors)}, closed ${result.closed}`,
  );
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
