import type { JobDto } from '../schemas/objects.js';

export type { JobDto };
