/**
 * A Go tool named by its variable (PROMTOOL_PATH, HELM_PATH, KUBECONFORM_PATH) is used as it is,
 * and one that is not an executable is refused in one sentence, before any build starts.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ensureGoTool, GoBuildError } from '../../dev/go-build';
import { HELM_BUILD } from '../../dev/kubernetes/tools';

const VARIABLE = 'FARMFLOW_TEST_GO_TOOL_PATH';
const dir = mkdtempSync(join(tmpdir(), 'go-tool-'));
const say = (line: string) => {
  throw new Error(`nothing should be built: ${line}`);
};

afterEach(() => {
  delete process.env[VARIABLE];
});

it('uses the executable its variable names, without building', async () => {
  const tool = join(dir, 'helm');
  writeFileSync(tool, '#!/bin/sh\n');
  chmodSync(tool, 0o755);
  process.env[VARIABLE] = tool;
  await expect(ensureGoTool(HELM_BUILD, VARIABLE, say)).resolves.toBe(tool);
});

it('refuses a path that is no executable, naming the variable', async () => {
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'not a program');
  for (const path of [plain, dir, join(dir, 'missing')]) {
    process.env[VARIABLE] = path;
    const attempt = ensureGoTool(HELM_BUILD, VARIABLE, say);
    await expect(attempt).rejects.toThrow(GoBuildError);
    await expect(attempt).rejects.toThrow(`${VARIABLE}=${path} is not an executable`);
  }
  rmSync(dir, { recursive: true, force: true });
});
