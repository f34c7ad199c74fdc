/**
 * The alert rules (deploy/prometheus/alerts.yml) as Prometheus reads them: `promtool check rules`
 * accepts them, and their unit tests (alerts.test.yml: each alert fires on its trouble and stays
 * quiet otherwise) pass. promtool is built from Go modules once per machine (dev/prometheus).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ensurePromtool } from '../../dev/prometheus/promtool';

const RULES = join(__dirname, '../../deploy/prometheus');

describe('alert rules', () => {
  let promtool: string;
  beforeAll(async () => {
    // Minutes on a machine that has none yet, once; CI builds it before the tests.
    promtool = await ensurePromtool((line) => process.stderr.write(`${line}\n`));
  }, 900_000);

  const run = (...args: string[]) => {
    const result = spawnSync(promtool, args, { cwd: RULES, encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };

  it('pass promtool check rules', () => {
    const { status, output } = run('check', 'rules', 'alerts.yml');
    expect(output).toMatch(/SUCCESS: 7 rules found/);
    expect(status).toBe(0);
  });

  it('pass their unit tests, which test every alert firing', () => {
    const { status, output } = run('test', 'rules', 'alerts.test.yml');
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
    const rules = parseYaml(readFileSync(join(RULES, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; annotations: { runbook: string } }[] }[];
    };
    const tests = parseYaml(readFileSync(join(RULES, 'alerts.test.yml'), 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname),
      ),
    );
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert).filter((name) => !fired.has(name))).toEqual([]);
    // Each runbook link names a section of RUNBOOK.md.
    const runbook = readFileSync(join(RULES, 'RUNBOOK.md'), 'utf8');
    for (const alert of alerts) {
      expect(alert.annotations.runbook).toBe(
        `deploy/prometheus/RUNBOOK.md#${alert.alert.toLowerCase()}`,
      );
      expect(runbook).toContain(`\n## ${alert.alert}\n`);
    }
  });

  it('fail their unit tests when an alert is broken', () => {
    // The same tests against rules whose webhook alert never fires: promtool must say so.
    const broken = readFileSync(join(RULES, 'alerts.yml'), 'utf8').replace('> 0.05', '> 5');
    const dir = mkdtempSync(join(tmpdir(), 'farmflow-alerts-'));
    try {
      writeFileSync(join(dir, 'alerts.yml'), broken);
      copyFileSync(join(RULES, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
      const result = spawnSync(promtool, ['test', 'rules', 'alerts.test.yml'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toMatch(/FAILED[\s\S]*FarmflowWebhookErrors/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
