/**
 * Screens handed over inside one process: the per-message workflow's local activity runs in the
 * process that started the workflow, so the caller can have its screen as soon as the activity
 * has it, instead of waiting for the workflow to complete. The workflow still completes, durably,
 * with the same screen; a redelivered update is answered from that result.
 */
import type { MainMenuScreen } from '../common/temporal';

export interface EarlyAnswers {
  publish(workflowId: string, screen: MainMenuScreen): void;
  /** Resolves with the screen published for this workflow id; `cancel` stops waiting. */
  wait(workflowId: string): { screen: Promise<MainMenuScreen>; cancel(): void };
}

export function createEarlyAnswers(): EarlyAnswers {
  const waiting = new Map<string, (screen: MainMenuScreen) => void>();
  return {
    publish(workflowId, screen) {
      waiting.get(workflowId)?.(screen);
      waiting.delete(workflowId);
    },
    wait(workflowId) {
      const screen = new Promise<MainMenuScreen>((resolve) => waiting.set(workflowId, resolve));
      return { screen, cancel: () => waiting.delete(workflowId) };
    },
  };
}
