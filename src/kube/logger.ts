/**
 * The slice of a pino logger this layer writes to, so src/kube does not depend on how the
 * process sets up logging (src/observability passes its pino instance; tests pass nothing).
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => {};

export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
