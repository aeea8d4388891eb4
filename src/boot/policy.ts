import type { HandoverPolicy } from '../actors/handover';
import type { Config } from '../config';
import { createBusinessCalendar } from '../domain/business-hours';

/** DESIGN 4's lifecycle rules, as configured. */
export function handoverPolicy(config: Config): HandoverPolicy {
  return {
    assignTimeoutS: config.HANDOVER_ASSIGN_TIMEOUT_S,
    maxEscalations: config.HANDOVER_MAX_ESCALATIONS,
    supervisorQueue: config.HANDOVER_SUPERVISOR_QUEUE,
    agentReplyTimeoutS: config.AGENT_REPLY_TIMEOUT_S,
    queueUpdateIntervalS: config.QUEUE_UPDATE_INTERVAL_S,
    userAbandonTimeoutS: config.USER_ABANDON_TIMEOUT_S,
    windowS: config.WHATSAPP_WINDOW_S,
    reengageTemplate: config.WHATSAPP_REENGAGE_TEMPLATE !== '',
    outOfHoursQueue: config.OUT_OF_HOURS_QUEUE,
    calendar: createBusinessCalendar(config.BUSINESS_HOURS, config.HOLIDAYS, config.TZ_BUSINESS),
    threadControl: config.WHATSAPP_THREAD_CONTROL,
  };
}
