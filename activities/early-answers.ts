/**
 * Screens handed over inside one process: the per-message workflow's local activity runs in the
 * process that started the workflow, so the caller can have its screen as soon as the activity
 * has it, instead of waiting for the workflow to complete. The workflow still completes, durably,
 * with the same screen; a redelivered update is answered from that result.
 */
import type { MainMenuScreen } from '../workflows/contract';

export interface EarlyAnswers {
  publish(workflowId: string, screen: MainMenuScreen): void;
  /**
   * Resolves with the screen published for this workflow id; `cancel` stops waiting. Several
   * callers may wait on one id (two deliveries of one update at once): each gets the screen.
   */
  wait(workflowId: string): { screen: Promise<MainMenuScreen>; cancel(): void };
}

type Waiter = (screen: MainMenuScreen) => void;

export function createEarlyAnswers(): EarlyAnswers {
  const waiting = new Map<string, Set<Waiter>>();
  return {
    publish(workflowId, screen) {
      const waiters = waiting.get(workflowId);
      waiting.delete(workflowId);
      for (const resolve of waiters ?? []) resolve(screen);
    },
    wait(workflowId) {
      let waiter: Waiter | undefined;
      const screen = new Promise<MainMenuScreen>((resolve) => {
        waiter = resolve;
        const waiters = waiting.get(workflowId) ?? new Set<Waiter>();
        waiters.add(resolve);
        waiting.set(workflowId, waiters);
      });
      return {
        screen,
        cancel: () => {
          const waiters = waiting.get(workflowId);
          if (!waiters || !waiter) return;
          waiters.delete(waiter);
          if (waiters.size === 0) waiting.delete(workflowId);
        },
      };
    },
  };
}
