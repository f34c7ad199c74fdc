/** The naive baseline's one ordinary activity. */
export function createBaselineActivities() {
  return {
    async noop(): Promise<void> {},
  };
}
