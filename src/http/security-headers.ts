/**
 * Security headers for every response: a strict CSP without inline script,
 * no sniffing, no framing, no referrer; and HSTS (one year, subdomains of the
 * service's host included, no preload) when the service is public over https
 * (`CALLREC_PUBLIC_URL` starts with `https:`). Without a public https URL no
 * HSTS is sent: a plain-http deployment must stay reachable.
 */
import type { RequestHandler } from 'express';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/** The headers every response carries, whatever the configuration. */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  next();
};

/** `securityHeaders`, plus Strict-Transport-Security when `publicUrl` is https. */
export function createSecurityHeaders(config: { publicUrl: string | undefined }): RequestHandler {
  const hsts = config.publicUrl !== undefined && new URL(config.publicUrl).protocol === 'https:';
  if (!hsts) return securityHeaders;
  return (req, res, next) => {
    res.setHeader('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
    securityHeaders(req, res, next);
  };
}
