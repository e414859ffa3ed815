// Saving something from the page: a URL or a Blob, under a file name (an <a download> click).

/** Download `src` (a URL string or a Blob) as `name`. */
export function download(src, name) {
  const url = typeof src === 'string' ? src : URL.createObjectURL(src);
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  if (typeof src !== 'string') setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file-name-safe local time stamp: 20260102-153045. */
export function stamp(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}
