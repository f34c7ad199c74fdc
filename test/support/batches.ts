/** For admin apps whose tests do not reach the batch routes: any call fails the test. */
import type { BatchOperations } from '../../schedules/batches';

const unused = () => Promise.reject(new Error('the batch operations were not expected here'));

export const unusedBatches: BatchOperations = {
  preview: unused,
  start: unused,
  progress: unused,
  list: unused,
};
