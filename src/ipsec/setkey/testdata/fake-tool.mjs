// Test stand-in for setkey(8) `-c` and racoonctl(8), since neither exists on Debian 12 and this
// kernel has no PF_KEY. Usage: node fake-tool.mjs STATE_DIR setkey|racoonctl ARGS...
//
// setkey: keeps a simulated SPD in STATE_DIR/spd.json and behaves as ipsec-tools' stdin mode does:
// statements run in order; a kernel refusal ("File exists.", "No entry.") is printed on stdout and
// the next statement still runs, exit code 0; a parse error goes to stderr and stops with exit 1.
// racoonctl: records the call and, if control.json names a peer directory, the files in it.
// STATE_DIR/control.json can inject failures: { "rules": [{ "tool", "match" (regex on a statement
// or on the argv), "stdout", "stderr", "exitCode" }], "peerDir" }.
// Every call is appended to STATE_DIR/calls.jsonl: { tool, args, stdin, exitCode, files }.
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, tool, ...args] = process.argv.slice(2);
const read = (name, fallback) => (existsSync(join(dir, name)) ? JSON.parse(readFileSync(join(dir, name), 'utf8')) : fallback);
const control = read('control.json', {});
const rules = (control.rules ?? []).filter((r) => r.tool === tool);
const ruleFor = (text) => rules.find((r) => new RegExp(r.match).test(text));
const stdin = tool === 'setkey' ? readFileSync(0, 'utf8') : '';
let stdout = '';
let stderr = '';
let exitCode = 0;

function apply(rule) {
  if (rule.stdout) stdout += `${rule.stdout}\n`;
  if (rule.stderr) stderr += `${rule.stderr}\n`;
  exitCode = rule.exitCode ?? 0;
}

if (tool === 'setkey') {
  const spd = read('spd.json', []);
  if (args.join(' ') !== '-c') {
    stderr += 'usage: setkey -c\n';
    exitCode = 1;
  }
  for (const raw of exitCode === 0 ? stdin.split(';') : []) {
    const statement = raw.replace(/#[^\n]*/g, '').trim().replace(/\s+/g, ' ');
    if (!statement) continue;
    const rule = ruleFor(statement);
    if (rule) {
      apply(rule);
      if (exitCode !== 0) break;
      continue;
    }
    const m = /^(spdadd|spddelete) (\S+) (\S+) ([a-z0-9]+(?: \d+,\d+)?) -P (in|out)(?: (.+))?$/.exec(statement);
    if (!m || (m[1] === 'spdadd') !== (m[6] !== undefined)) {
      stderr += `parse error: ${statement}\n`;
      exitCode = 1;
      break;
    }
    const selector = `${m[2]} ${m[3]} ${m[4]} -P ${m[5]}`;
    const at = spd.findIndex((e) => e.selector === selector);
    if (m[1] === 'spdadd') {
      if (at >= 0) stdout += 'File exists.\n';
      else spd.push({ selector, policy: m[6] });
    } else if (at < 0) stdout += 'No entry.\n';
    else spd.splice(at, 1);
  }
  writeFileSync(join(dir, 'spd.json'), JSON.stringify(spd));
} else {
  const rule = ruleFor(args.join(' '));
  if (rule) apply(rule);
}

const files = tool === 'racoonctl' && control.peerDir && existsSync(control.peerDir) ? readdirSync(control.peerDir).sort() : undefined;
appendFileSync(join(dir, 'calls.jsonl'), `${JSON.stringify({ tool, args, stdin, exitCode, files })}\n`);
process.stdout.write(stdout);
process.stderr.write(stderr);
process.exitCode = exitCode;
