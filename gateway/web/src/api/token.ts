/**
 * The API token: kept in localStorage once a person typed it, sent as `Authorization: Bearer`
 * on REST calls and as `auth.token` on the `/jobs` socket.
 *
 * When the server refuses (401, or the socket's "a valid API token is required"), callers
 * await `askForToken()`. Every caller waiting at the same time shares one question, so the
 * page asks once however many requests were refused.
 */

const STORAGE_KEY = "haul.apiToken";

type Prompt = (rejected: boolean) => Promise<string>;

let prompt: Prompt | null = null;
let pending: Promise<string> | null = null;

export function loadToken(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the page works without a remembered token
  }
}

function saveToken(token: string): void {
  try {
    localStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Not remembered across reloads, but still used for this page's life through `pending`.
  }
}

/** The UI registers how to ask a person; until then a refused request fails. */
export function setTokenPrompt(ask: Prompt | null): void {
  prompt = ask;
}

export function askForToken(): Promise<string> {
  if (pending) return pending;
  if (!prompt) return Promise.reject(new Error("an API token is required"));
  pending = prompt(loadToken() !== null)
    .then((token) => {
      saveToken(token);
      return token;
    })
    .finally(() => {
      pending = null;
    });
  return pending;
}

export function isTokenRefusal(error: Error): boolean {
  return /token/i.test(error.message);
}
