import { el, srOnly } from './dom.js';

/** Dark enough for white initials at 4.5:1 or better. */
const COLORS = ['#1d4ed8', '#7c3aed', '#b91c1c', '#047857', '#a21caf', '#0e7490', '#9a3412', '#4338ca', '#15803d', '#be185d'];

export interface AvatarPerson {
  id: number;
  name: string;
  avatar_url: string | null;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words.slice(0, 1);
  return letters.map((w) => [...w][0]!.toUpperCase()).join('') || '?';
}

/**
 * A round picture, or the person's initials on a colour of their own when there is no
 * picture (or it fails to load: the page's CSP allows https and data: images only).
 * `online` adds the presence dot; null when presence is not known.
 */
export function avatar(person: AvatarPerson, size: 'sm' | 'md' | 'lg' = 'md', online: boolean | null = null): HTMLSpanElement {
  const face = el('span', { className: `avatar avatar-${size}`, attrs: { 'aria-hidden': 'true' } });
  const fallback = () => {
    face.replaceChildren(initials(person.name));
    face.style.background = COLORS[Math.abs(person.id) % COLORS.length]!;
  };
  if (person.avatar_url) {
    const img = el('img', { attrs: { src: person.avatar_url, alt: '', loading: 'lazy', decoding: 'async' } });
    img.onerror = fallback;
    face.append(img);
  } else fallback();
  const wrap = el('span', { className: 'avatar-wrap' }, face);
  if (online) wrap.append(el('span', { className: 'presence-dot', attrs: { 'data-online': 'true' } }), srOnly('online'));
  return wrap;
}
