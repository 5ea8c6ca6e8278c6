// One typed wrapper per Tauri command. Names and shapes match src-tauri/src/commands.
import type { AppInfo, DoctorReport } from './bindings';
import { call } from './invoke';

export const appInfo = (): Promise<AppInfo> => call('app_info');

export const runDoctor = (): Promise<DoctorReport> => call('run_doctor');

export const openUrl = (url: string): Promise<void> => call('open_url', { url });
