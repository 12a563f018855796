/** One HTTP answer from a service running as another process; `status` 0 means no answer in time. */
export interface Answer {
  status: number;
  headers: Headers;
  body: string;
  /** How long the request took, in ms. */
  ms: number;
  startedAt: number;
}

/**
 * A client of the service over real HTTP (a spawned process, say), with a bound on every
 * request: a request that does not answer in `timeoutMs` comes back as status 0, not a hang.
 */
export class ServiceClient {
  constructor(
    readonly url: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  static async login(url: string, email: string, password: string): Promise<ServiceClient> {
    const res = await new ServiceClient(url).request('POST', '/v1/auth/login', { email, password });
    if (res.status !== 200) throw new Error(`login → ${res.status} ${res.body}`);
    const { accessToken } = JSON.parse(res.body) as { accessToken: string };
    return new ServiceClient(url, { authorization: `Bearer ${accessToken}` });
  }

  async request(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<Answer> {
    const startedAt = Date.now();
    try {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers: { ...this.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text, ms: Date.now() - startedAt, startedAt };
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      return { status: 0, headers: new Headers(), body: '', ms: Date.now() - startedAt, startedAt };
    }
  }

  async json<T>(path: string): Promise<T> {
    const res = await this.request('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${res.body}`);
    return JSON.parse(res.body) as T;
  }

  /** A Prometheus counter's value summed over the series matching `labels` (e.g. `kind="finish"`). */
  async counter(name: string, labels = ''): Promise<number> {
    const text = (await this.request('GET', '/metrics')).body;
    let total = 0;
    for (const line of text.split('\n')) {
      const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
      if (match && (match[1] ?? '').includes(labels)) total += Number(match[2]);
    }
    return total;
  }
}
