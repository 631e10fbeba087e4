/** A fetch that passes every request through to the real one and keeps a record of what was asked and answered. */

export interface Exchange {
  method: string;
  url: URL;
  /** The scheme of the Authorization header sent (`basic`, `bearer`), if any. */
  auth: string | undefined;
  status: number;
  wwwAuthenticate: string | null;
  /** For an answer of the token service (a URL under `tokenRealm`): the token it gave. */
  token?: string;
}

export interface RecordingFetch {
  fetch: typeof fetch;
  exchanges: Exchange[];
  /** The exchanges with the token service, in order. */
  tokenRequests(): Exchange[];
}

export function recordingFetch(tokenRealm: string): RecordingFetch {
  const exchanges: Exchange[] = [];
  const record: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    const response = await fetch(input, init);
    const exchange: Exchange = {
      method: init?.method ?? "GET",
      url,
      auth: headers.get("authorization")?.split(" ")[0]?.toLowerCase(),
      status: response.status,
      wwwAuthenticate: response.headers.get("www-authenticate"),
    };
    if (isTokenRequest(url, tokenRealm) && response.status === 200) {
      const answer = (await response.clone().json()) as { token?: string };
      exchange.token = answer.token;
    }
    exchanges.push(exchange);
    return response;
  };
  return { fetch: record, exchanges, tokenRequests: () => exchanges.filter((e) => isTokenRequest(e.url, tokenRealm)) };
}

function isTokenRequest(url: URL, tokenRealm: string): boolean {
  return `${url.origin}${url.pathname}` === tokenRealm;
}

/** The claims of a JWT (not verified: the registry does that). */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}
