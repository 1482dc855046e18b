import { type ReactNode, useEffect, useState } from "react";
import { fetchImage } from "../api/rest";
import { loadToken } from "../api/token";
import { haulImagePath } from "../lib/thumbnail";

/**
 * A job's thumbnail from the gateway, or `fallback` while there is none or it failed to load.
 * An <img> cannot send the API token, so with one the image is fetched here and shown from
 * memory; without one the browser loads the path itself.
 */
export function Thumbnail({ href, className, fallback = null }: { href: string | null; className: string; fallback?: ReactNode }) {
  const path = haulImagePath(href);
  const token = loadToken();
  const [fetched, setFetched] = useState<string | null>(null);
  const [broken, setBroken] = useState(false);

  useEffect(() => {
    setBroken(false);
    setFetched(null);
    if (!path || !token) return;
    let current = true;
    let objectUrl: string | null = null;
    fetchImage(path).then(
      (url) => {
        if (current) {
          objectUrl = url;
          setFetched(url);
        } else {
          URL.revokeObjectURL(url);
        }
      },
      () => current && setBroken(true),
    );
    return () => {
      current = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [path, token]);

  const src = token ? fetched : path;
  if (!src || broken) return <>{fallback}</>;
  return <img src={src} alt="" referrerPolicy="no-referrer" loading="lazy" onError={() => setBroken(true)} className={className} />;
}
