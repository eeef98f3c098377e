/* global location, URLSearchParams */
/**
 * After single sign-on: the provider's redirect ends here, and this page moves on with a
 * same-site navigation, so that the SameSite=Strict session cookie is sent with it.
 */
import { applyI18n } from '/assets/i18n.js';

applyI18n();
const next = new URLSearchParams(location.search).get('next') ?? '';
const target = /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith('/login') ? next : '/recordings';
document.getElementById('go').href = target;
location.replace(target);
