/** Every workflow type the game's workers run; the exported names are the workflow types. */
export { GameFarmWorkflow } from './farm';
export { MainMenuMessageWorkflow, MainMenuQueryWorkflow } from './main-menu';
export { MarketTickWorkflow } from './market-tick';
export { CalendarEventWorkflow } from './calendar-event';
export { PlayerBatchWorkflow } from './player-batch';
export { WeeklyPrizeWorkflow } from './weekly-prize';
export { RedisBackfillWorkflow } from './redis-backfill';
export { SupportGrantWorkflow } from './support-grant';
export { FarmReportWorkflow } from './farm-report';
