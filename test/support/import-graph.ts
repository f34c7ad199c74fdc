/**
 * The project's import graph as TypeScript reads it: every import and re-export, type-only ones
 * included (`ts.preProcessFile`), between the project's own files. Packages are left out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';

export const ROOT = join(__dirname, '..', '..');

/** The files each process of the product starts from (the image runs them, or bundles them). */
export const PRODUCT_ENTRY_POINTS = [
  'bot/main.ts',
  'worker/main.ts',
  'schedules/cli.ts',
  'bot/support/cli.ts',
  'worker/build-bundle.ts',
  'workflows/index.ts',
  'worker/workflow-interceptors.ts',
];

/** Project-relative path of the file a relative specifier names, or undefined for a package. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [`${base}.ts`, `${base}/index.ts`, base, base.replace(/\.js$/, '.ts')];
  const found = candidates.find((file) => existsSync(join(ROOT, file)) && file.endsWith('.ts'));
  if (!found) throw new Error(`${from}: cannot resolve ${specifier}`);
  return found;
}

export function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((imported) => resolveImport(file, imported.fileName))
    .filter((target): target is string => target !== undefined);
}

/** Every project file the entry points reach, with its imports. */
export function reachableFrom(entryPoints: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [...entryPoints];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const imports = importsOf(file);
    graph.set(file, imports);
    pending.push(...imports.filter((target) => !graph.has(target)));
  }
  return graph;
}

/** A file's folder at the top of the tree: the unit the layout is made of. */
export const folderOf = (file: string) => file.split('/')[0]!;

/**
 * Cycles between folders, each as the file-level import that closes it, e.g.
 * `workflows/farm.ts → activities/farm.ts → workflows/contract.ts`. Empty when the folders form a DAG.
 */
export function folderCycles(graph: Map<string, string[]>): string[][] {
  const edges = new Map<string, Map<string, string>>();
  for (const [file, imports] of graph) {
    for (const target of imports) {
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from === to) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, `${file} → ${target}`);
    }
  }
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (folder: string) => {
    state.set(folder, 'visiting');
    stack.push(folder);
    for (const [next, via] of edges.get(folder) ?? []) {
      if (state.get(next) === 'visiting') {
        const loop = stack.slice(stack.indexOf(next));
        cycles.push(loop.map((f, i) => edges.get(f)!.get(loop[i + 1] ?? next) ?? via));
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(folder, 'done');
  };
  for (const folder of edges.keys()) if (!state.has(folder)) visit(folder);
  return cycles;
}

export const relativeToRoot = (path: string) => relative(ROOT, path) || dirname(path);
