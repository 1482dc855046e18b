/** The gateway's REST API (gateway/rest.py), with the API token and its 401 handled in one place. */

import { askForToken, loadToken } from "./token";
import type {
  Accepted,
  ControlAction,
  Deleted,
  DownloadOptions,
  Job,
  JobDetail,
  JobPage,
  JobType,
  Stats,
} from "./types";

/** The server's `{"error": {"code", "message"}}`, or a network failure (`status` 0). */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// A page asks again if the token it was given is refused; it gives up after this many tries.
const TOKEN_TRIES = 3;
const PAGE_SIZE = 100;

function headersFor(extra: Record<string, string>): Record<string, string> {
  const token = loadToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function send(path: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
  for (let tries = 1; ; tries += 1) {
    let response: Response;
    try {
      response = await fetch(path, { ...init, headers: headersFor(init.headers ?? {}) });
    } catch {
      throw new ApiError(0, "network_error", "The server cannot be reached. Check your connection.");
    }
    if (response.status !== 401 || tries >= TOKEN_TRIES) return response;
    await askForToken();
  }
}

export async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit & { headers: Record<string, string> } = { method, headers };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...headers, "Content-Type": "application/json" };
  }
  const response = await send(path, init);
  // A 204 (a delete) has no body.
  const data: unknown = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "http_error", error?.message ?? response.statusText);
  }
  return data as T;
}

/** A key per submit, so a retried request can never create a second job. */
function idempotencyKey(): string {
  // crypto.randomUUID exists only in secure contexts; a page served over plain http on a LAN
  // address is not one, but getRandomValues works everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function createDownload(url: string, type: JobType, options: DownloadOptions): Promise<Accepted> {
  return request("POST", "/downloads", { url, type, options }, { "Idempotency-Key": idempotencyKey() });
}

export function listDownloads(cursor: string | null = null): Promise<JobPage> {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) query.set("cursor", cursor);
  return request("GET", `/downloads?${query}`);
}

/** One page of a collection's children, in entry order. */
export function listChildren(parentId: string, cursor: string | null = null, limit = PAGE_SIZE): Promise<JobPage> {
  const query = new URLSearchParams({ parent: parentId, limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return request("GET", `/downloads?${query}`);
}

export function getDownload(id: string): Promise<JobDetail> {
  return request("GET", `/downloads/${id}`);
}

export function controlDownload(id: string, action: ControlAction): Promise<Job> {
  return request("POST", `/downloads/${id}/${action}`);
}

export function deleteDownload(id: string): Promise<Deleted> {
  return request("DELETE", `/downloads/${id}`);
}

/** Daily figures of finished downloads for the last `days` UTC days, today included. */
export function getStats(days: number): Promise<Stats> {
  return request("GET", `/stats?${new URLSearchParams({ days: String(days) })}`);
}

/**
 * A plain link cannot carry the Authorization header, so with a token the file is fetched
 * here and handed to the browser as a blob. Without one, the link is followed as it is.
 */
export async function saveFileWithToken(href: string, filename: string): Promise<void> {
  const response = await send(href, { method: "GET" });
  if (!response.ok) throw new ApiError(response.status, "download_failed", "The file could not be fetched.");
  const url = URL.createObjectURL(await response.blob());
  const anchor = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** An image the gateway serves, fetched with the token, as a blob URL (revoke it when done). */
export async function fetchImage(href: string): Promise<string> {
  const response = await send(href, { method: "GET" });
  if (!response.ok) throw new ApiError(response.status, "image_failed", "The image could not be fetched.");
  return URL.createObjectURL(await response.blob());
}
