import type { Processor } from '../processor.js';
import conversationExport from './conversation-export.js';
import demoSteps from './demo-steps.js';
import demoStream from './demo-stream.js';

/** Every processor the worker runs; boot checks this list against the job catalog. */
export const PROCESSORS: readonly Processor[] = [conversationExport, demoSteps, demoStream];
