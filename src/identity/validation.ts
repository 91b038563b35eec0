import { badInput } from '../errors.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.js';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/;
const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;

export function normalizeEmail(field: string, value: string): string {
  const email = value.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) throw badInput(field, 'must be a valid e-mail address');
  return email;
}

export function validateUsername(field: string, value: string): string {
  const username = value.trim();
  if (!USERNAME.test(username)) throw badInput(field, 'must be 3 to 32 letters, digits, _, - or .');
  return username;
}

export function validatePassword(field: string, value: string): string {
  if (value.length < MIN_PASSWORD_LENGTH) throw badInput(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (value.length > MAX_PASSWORD_LENGTH) throw badInput(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  return value;
}
