/** Failure codes (the worker's `errorCode`) in words a person understands. */

const HTTP_CODE = /^HTTP_(\d{3})$/;

const EXPLAINED: Record<string, string> = {
  STALLED: "The download stopped making progress, so it was given up.",
  EGRESS_REFUSED: "This address is on a private or local network, which the server is not allowed to reach.",
  SIZE_LIMIT: "The file is larger than this server allows.",
  FILE_TOO_LARGE: "The file is larger than this server allows.",
  TIME_LIMIT: "The download took longer than this server allows.",
  DISK_RESERVE: "The server is running low on disk space.",
  DISK_FULL: "The server ran out of disk space.",
  TRUNCATED: "The file arrived incomplete.",
  CHECKSUM_MISMATCH: "The file arrived damaged (its checksum does not match).",
  UNSUPPORTED_URL: "None of the downloaders understands this address.",
  NO_MEDIA: "No video or audio was found at this address.",
  NO_OUTPUT: "The download ended without producing a file.",
  NETWORK_ERROR: "The connection to the site failed.",
  TOO_MANY_REDIRECTS: "The site redirected too many times.",
  ENTRY_REFUSED: "This entry points somewhere the server may not fetch (a local or private address, or not http).",
  COLLECTION_UNREADABLE: "The playlist or feed could not be read.",
  COLLECTION_TIMEOUT: "Listing the playlist or feed took too long.",
  COLLECTION_TOO_LARGE: "The playlist or feed is larger than this server reads.",
};

const HTTP_EXPLAINED: Record<string, string> = {
  "401": "The site wants a login for this address.",
  "403": "The site refused access to this address.",
  "404": "The site says there is nothing at this address.",
  "410": "The site says this address is gone for good.",
  "429": "The site is limiting requests; try again later.",
};

export function explainFailure(code: string | null): string {
  if (!code) return "The download failed.";
  const http = HTTP_CODE.exec(code)?.[1];
  if (http) {
    const words = HTTP_EXPLAINED[http] ?? (http.startsWith("5") ? "The site had a problem of its own." : "The site answered with an error.");
    return `${words} (HTTP ${http})`;
  }
  return EXPLAINED[code] ?? "The download failed.";
}

export function messageOf(error: unknown): string {
  return error instanceof Error && error.message ? error.message : "Something went wrong.";
}
