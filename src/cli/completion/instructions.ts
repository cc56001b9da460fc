export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

const HOW: Record<Shell, string[]> = {
  bash: ['bash: add this line to ~/.bashrc, then open a new shell:', '  eval "$(mxtok autocomplete --script bash)"'],
  zsh: ['zsh: add this line to ~/.zshrc, after compinit, then open a new shell:', '  eval "$(mxtok autocomplete --script zsh)"'],
  fish: [
    'fish: write the completions where fish looks for them (takes effect in new shells):',
    '  mxtok autocomplete --script fish > ~/.config/fish/completions/mxtok.fish',
  ],
}

/** How to turn mxtok's completion on, for one shell or all three. */
export function completionInstructions(shell?: Shell): string[] {
  return [
    'mxtok completes its commands and flags, the names of your sessions (mxtok token <TAB>) and of the',
    'secret stores (--store <TAB>). The session names are read from the registry at each TAB.',
    '',
    ...(shell ? HOW[shell] : SHELLS.flatMap((s, i) => [...(i > 0 ? [''] : []), ...HOW[s]])),
  ]
}
