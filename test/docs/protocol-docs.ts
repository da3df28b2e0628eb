import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');

export const readRepoFile = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The event names of each event-map interface of src/realtime/protocol.ts, read from the source itself. */
export function protocolEvents(): Record<string, string[]> {
  const file = ts.createSourceFile('protocol.ts', readRepoFile('src/realtime/protocol.ts'), ts.ScriptTarget.Latest);
  const maps: Record<string, string[]> = {};
  for (const node of file.statements) {
    if (!ts.isInterfaceDeclaration(node) || !node.name.text.endsWith('Events')) continue;
    maps[node.name.text] = node.members.map((m) => {
      const name = m.name!;
      return ts.isStringLiteral(name) || ts.isIdentifier(name) ? name.text : name.getText(file);
    });
  }
  return maps;
}
