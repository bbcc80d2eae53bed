// Which agent gets offered a session. Pure: presence and load are read by the caller, randomness is passed in.

export type Presence = 'available' | 'busy' | 'away';

export interface AgentCandidate {
  userId: string;
  /** BCP 47 tags, e.g. 'zh-CN', 'zh', 'en'. */
  languages: string[];
  skills: string[];
  presence: Presence;
  activeSessions: number;
}

export interface AgentNeed {
  language: string;
  productSkill: string;
}

/** `exclude` holds agents who already declined this session or let its offer time out. */
export function eligibleAgents(candidates: AgentCandidate[], need: AgentNeed, exclude: ReadonlySet<string>): AgentCandidate[] {
  return candidates.filter(
    (agent) =>
      agent.presence === 'available' &&
      !exclude.has(agent.userId) &&
      agent.skills.includes(need.productSkill) &&
      agent.languages.some((language) => languagesMatch(language, need.language)),
  );
}

/** Random among the least-busy eligible agents; `random` returns [0,1). */
export function selectAgent(
  candidates: AgentCandidate[],
  need: AgentNeed,
  exclude: ReadonlySet<string>,
  random: () => number,
): string | undefined {
  const eligible = eligibleAgents(candidates, need, exclude);
  if (eligible.length === 0) return undefined;
  const fewest = Math.min(...eligible.map((agent) => agent.activeSessions));
  const leastBusy = eligible.filter((agent) => agent.activeSessions === fewest);
  // Random rather than first-in-list, so ties do not always land on the same agent.
  // Clamped so a generator that strays outside [0,1) still picks one of them.
  const index = Math.max(0, Math.min(Math.floor(random() * leastBusy.length), leastBusy.length - 1));
  return leastBusy[index]?.userId;
}

/**
 * Same language when one tag is the other or a more general form of it: an agent listed as 'zh' serves a
 * 'zh-CN' party, and a party recorded only as 'en' is served by an 'en-US' agent. Sibling regions ('zh-TW' and
 * 'zh-CN') do not match: the written forms and vocabulary differ enough to matter in a recorded verification.
 */
export function languagesMatch(agentLanguage: string, partyLanguage: string): boolean {
  const agent = subtags(agentLanguage);
  const party = subtags(partyLanguage);
  const [general, specific] = agent.length <= party.length ? [agent, party] : [party, agent];
  return general.length > 0 && general.every((tag, i) => tag === specific[i]);
}

function subtags(tag: string): string[] {
  return tag.trim().toLowerCase().split(/[-_]/).filter((part) => part.length > 0);
}
