/**
 * The benchmark's baseline workflows and their messages. Bench-only: they are bundled with the
 * production workflows for the benchmark's own workers and never enter the production bundle.
 */
import { defineUpdate } from '@temporalio/workflow';

/** Workflow types, as dev/bench/workflows.ts exports them. */
export const BASELINE_WORKFLOW_TYPES = {
  /** Does nothing: with an eager start, the cheapest workflow there is. */
  empty: 'EmptyWorkflow',
  /** The naive baseline: a new workflow calling one ordinary (not local) no-op activity. */
  oneActivity: 'OneActivityWorkflow',
  /** Answers a no-op update and runs until terminated: a running, cached workflow. */
  updateTarget: 'UpdateTargetWorkflow',
} as const;

export const touchTargetUpdate = defineUpdate<void>('touchTarget');
