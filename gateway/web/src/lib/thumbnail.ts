/**
 * Thumbnails come from haul only: the gateway serves the copy a worker fetched through its
 * egress guard at `/files/{jobId}/thumbnail`, and `meta.thumbnail` is that path or null. The
 * page still refuses anything else (a full URL, `//host/...`, `data:`), so no value a job
 * carries can make the browser fetch an address a site chose.
 */
export function haulImagePath(href: string | null | undefined): string | null {
  if (!href || !href.startsWith("/") || href.startsWith("//") || href.includes("\\")) return null;
  return href;
}
