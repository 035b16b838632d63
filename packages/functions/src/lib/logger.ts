import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The one logger of every function. Its own module so that a function that only logs (the event
 * log) does not load the configuration, zod and the topology with it.
 */
export const logger = new Logger({ serviceName: "flashstock" });
