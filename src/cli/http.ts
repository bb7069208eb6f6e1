import { request } from 'undici';

/** An answer of the API that was not a success: its status and the `error` text it gave. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  /** The queue and push API, e.g. http://127.0.0.1:7777. */
  api: string;
  /** The admin API, e.g. http://127.0.0.1:7778. */
  admin: string;
  /** A namespace's token for the queue and push APIs. */
  token?: string;
  /** `user:password` for the admin API's basic auth. */
  adminAuth?: string;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Ferry's two HTTP APIs, as the CLI calls them: JSON in, JSON out, errors as ApiError. */
export class FerryApi {
  constructor(private readonly options: ApiOptions) {}

  /** Calls the queue or push API with the token. */
  queue<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = this.options.token ? { 'x-token': this.options.token } : {};
    return this.call<T>(this.options.api, method, path, headers, body);
  }

  /** Calls the admin API with its basic auth. */
  admin<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = this.options.adminAuth
      ? { authorization: `Basic ${Buffer.from(this.options.adminAuth).toString('base64')}` }
      : {};
    return this.call<T>(this.options.admin, method, path, headers, body);
  }

  private async call<T>(base: string, method: Method, path: string, headers: Record<string, string>, body: unknown): Promise<T> {
    const url = new URL(path, base);
    let res;
    try {
      res = await request(url, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
    } catch (err) {
      throw new ApiError(0, `cannot reach ${url.origin}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const text = await res.body.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (res.statusCode >= 400) {
      const error = (parsed as { error?: unknown } | undefined)?.error;
      throw new ApiError(res.statusCode, `${method} ${url.pathname} answered ${res.statusCode}: ${typeof error === 'string' ? error : text || 'no body'}`);
    }
    return parsed as T;
  }
}
