import { request } from 'node:https';

/** POSTs JSON to a server of ours on https://127.0.0.1:<port>, trusting `ca`, and parses the answer. */
export function postJson<T = unknown>(
  port: number,
  path: string,
  body: unknown,
  ca: string,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', ca, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
