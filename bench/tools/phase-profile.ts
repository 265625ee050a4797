// Compares a V8 CPU profile's functions between the phases a benchmark marked
// with `PHASE <name> start|end <monotonic µs> [n <messages>]` lines: self
// time per message in each phase, the functions that grew most first.
//   npx tsx bench/tools/phase-profile.ts <file.cpuprofile> <phases.txt> [top]
import { readFileSync } from 'node:fs';

interface Phase {
  start?: number;
  end?: number;
  n?: number;
}
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

const [file, phasesFile, top = '30'] = process.argv.slice(2);
if (!file || !phasesFile) {
  console.error('usage: phase-profile.ts <file.cpuprofile> <phases.txt> [top]');
  process.exit(2);
}
const phases = new Map<string, Phase>();
for (const line of readFileSync(phasesFile, 'utf8').split('\n')) {
  const m = line.match(/^PHASE (\S+) (start|end) (\d+)(?: n (\d+))?/);
  if (!m) continue;
  const name = m[1] as string;
  const p = phases.get(name) ?? {};
  if (m[2] === 'start') p.start = Number(m[3]);
  else p.end = Number(m[3]);
  if (m[4]) p.n = Number(m[4]);
  phases.set(name, p);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const where = (u: string): string => u.replace(/^file:\/\/.*?\/(src|actors|analytics|bench)\//, '$1/').replace(/.*node_modules\//, '');
const self = new Map<string, Map<string, number>>([...phases.keys()].map((k) => [k, new Map<string, number>()]));
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0;
  const cf = nodes.get(profile.samples[i] ?? -1)?.callFrame;
  if (!cf) continue;
  if (cf.functionName === '(idle)') continue;
  for (const [name, p] of phases) {
    if (p.start === undefined || p.end === undefined || t < p.start || t >= p.end) continue;
    const key = `${cf.functionName || '(anonymous)'} ${where(cf.url)}:${cf.lineNumber + 1}`;
    const m = self.get(name) as Map<string, number>;
    m.set(key, (m.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
}
const names = [...phases.keys()];
const perMsg = (name: string, key: string): number => (self.get(name)?.get(key) ?? 0) / (phases.get(name)?.n ?? 1);
console.log(names.map((n) => `${n}: ${([...(self.get(n)?.values() ?? [])].reduce((a, b) => a + b, 0) / (phases.get(n)?.n ?? 1)).toFixed(1)} us/msg busy`).join(', '));
const keys = [...new Set(names.flatMap((n) => [...(self.get(n)?.keys() ?? [])]))];
const spread = (k: string): number => Math.max(...names.map((n) => perMsg(n, k))) - Math.min(...names.map((n) => perMsg(n, k)));
keys.sort((a, b) => spread(b) - spread(a));
console.log(names.map((n) => n.padStart(8)).join(' '), '  us/msg self');
for (const k of keys.slice(0, Number(top))) console.log(names.map((n) => perMsg(n, k).toFixed(2).padStart(8)).join(' '), ' ', k);
