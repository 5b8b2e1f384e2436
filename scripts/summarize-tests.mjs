#!/usr/bin/env node
// Summarize a vitest JSON report (vitest 4 `--reporter=json --outputFile=...`).
//
//   node scripts/summarize-tests.mjs [report.json] [--exit-code N]
//
// Prints the failing tests / files, then, as the LAST line, exactly
//   `N passed, N failed, N skipped`
// (skipped = skipped + todo). CI reads that line.
//
// `failed` also counts what vitest's per-test numbers miss:
//   - a test file that failed without a failing test (import/collect error,
//     error in beforeAll/afterAll): +1 per such file;
//   - a missing or unreadable report, or vitest exiting non-zero with nothing
//     counted as failed (unhandled errors, "No test files found", a crash): +1.
// `--exit-code` is vitest's exit code (test.sh passes it).
// Exits 1 when failed > 0, else 0.
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
let reportPath = 'test-output/vitest.json';
let runnerExit = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--exit-code') runnerExit = Number(args[++i]);
  else if (a.startsWith('--exit-code=')) runnerExit = Number(a.slice('--exit-code='.length));
  else reportPath = a;
}

const notes = [];
let passed = 0;
let failed = 0;
let skipped = 0;
let report = null;

try {
  report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
} catch (err) {
  notes.push(`no usable test report at ${reportPath}: ${err.code ?? err.message}`);
}

const rel = (p) => {
  const r = path.relative(process.cwd(), p ?? '');
  return r && !r.startsWith('..') ? r : p;
};
const firstLine = (s) => String(s ?? '').split('\n').find((l) => l.trim()) ?? '';

if (report) {
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    for (const t of tests) {
      if (t.status === 'failed') {
        notes.push(`FAIL ${rel(file.name)} > ${t.fullName ?? t.title}: ${firstLine(t.failureMessages?.[0])}`);
      }
    }
    if (file.status === 'failed' && !tests.some((t) => t.status === 'failed')) {
      failed += 1;
      notes.push(`FAIL ${rel(file.name)} (file error): ${firstLine(file.message) || 'failed without a failing test'}`);
    }
  }
}

const runnerFailed = runnerExit !== null && Number.isFinite(runnerExit) && runnerExit !== 0;
if (failed === 0 && (report === null || runnerFailed || report.success === false)) {
  failed = 1;
  if (report === null) {
    notes.push('test runner produced no results: counted as 1 failure');
  } else if ((report.numTotalTests ?? 0) === 0) {
    notes.push('no tests ran: counted as 1 failure');
  } else {
    notes.push(`vitest exited ${runnerExit ?? '(unknown)'} with no failing test (unhandled error?): counted as 1 failure`);
  }
}

for (const n of notes) console.log(n);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
