import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The client package carries its own copy of the contract's types (it must not import
 * server code). This compiles drift/check.ts, which holds them against the hub's zod schemas
 * and event maps, so a change on either side that the other lacks fails here.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');

let program: ts.Program | undefined;

/** Errors reported in one file of drift/ (both files share one compilation). */
function diagnostics(file: string): string[] {
  if (!program) {
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const files = ['check.ts', 'canary.ts'].map((f) => join(import.meta.dirname, 'drift', f));
    program = ts.createProgram(files, { ...options, noEmit: true });
  }
  const source = program.getSourceFile(join(import.meta.dirname, 'drift', file))!;
  return [...program.getSemanticDiagnostics(source), ...program.getSyntacticDiagnostics(source)].map(
    (d) => `${file}:${source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
  );
}

describe("the client's contract types", () => {
  it("match the hub's schemas and event maps for everything the hub sends", () => {
    expect(diagnostics('check.ts')).toEqual([]);
  }, 60_000);

  it('the comparison reports a drifted field and a nested one (canaries that must fail to compile)', () => {
    const found = diagnostics('canary.ts');
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^canary\.ts:9 [\s\S]*"id"[\s\S]*constraint 'never'/);
    expect(found[1]).toMatch(/^canary\.ts:11 [\s\S]*"conversation"[\s\S]*constraint 'never'/);
  }, 60_000);
});
