/** Copies text. False when the clipboard is missing (jsdom, insecure origin) or permission is refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
