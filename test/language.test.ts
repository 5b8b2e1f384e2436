/**
 * The stopword-profile language detector behind `--language auto`: short passages of the kind
 * the tool reads (manuals, READMEs, licences) in each language it knows, and the texts where it
 * must say "unsure" instead of guessing.
 */
import { describe, expect, it } from 'vitest';
import { chunkText } from '../activities/chunk.js';
import { detectLanguage, languageName } from '../activities/language.js';

const PASSAGES = {
  en: 'The configuration file is stored in your home directory. It controls which directories are indexed and how long the entries are kept before they are removed.',
  de: 'Die Konfigurationsdatei wird im Heimatverzeichnis gespeichert. Sie legt fest, welche Verzeichnisse indiziert werden und wie lange die Einträge aufbewahrt werden, bevor sie gelöscht werden.',
  fr: 'Le fichier de configuration est enregistré dans votre répertoire personnel. Il indique quels répertoires sont indexés et combien de temps les entrées sont conservées avant leur suppression.',
  es: 'El archivo de configuración se guarda en el directorio personal. Indica qué directorios se indexan y durante cuánto tiempo se conservan las entradas antes de que se eliminen.',
  it: 'Il file di configurazione è salvato nella directory personale. Indica quali directory vengono indicizzate e per quanto tempo le voci sono conservate prima di essere eliminate.',
  pt: 'O arquivo de configuração é guardado no diretório pessoal. Ele indica quais diretórios são indexados e por quanto tempo as entradas são mantidas antes de serem removidas.',
  nl: 'Het configuratiebestand wordt in je thuismap opgeslagen. Het bepaalt welke mappen worden geïndexeerd en hoe lang de gegevens worden bewaard voordat ze worden verwijderd.',
} as const;

/** A second text per language, of another register (licence, tutorial, history). */
const MORE = {
  en: 'Permission is hereby granted, free of charge, to any person obtaining a copy of this software, to deal in the Software without restriction, subject to the following conditions.',
  de: 'Um das Programm zu installieren, laden Sie das Archiv herunter und entpacken Sie es. Danach können Sie den Befehl im Terminal ausführen, wenn Python bereits installiert ist.',
  fr: "La marée est le mouvement montant puis descendant des eaux de la mer, causé par l'attraction de la Lune et du Soleil. Elle se produit deux fois par jour sur la plupart des côtes.",
  es: 'La primera versión del programa se publicó en marzo de 2021. Desde entonces, el proyecto ha crecido mucho y hoy tiene más de cien colaboradores en todo el mundo.',
  it: 'Per installare il programma, scaricate l\'archivio e decomprimetelo. Poi potete eseguire il comando nel terminale, se Python è già installato sul sistema.',
  pt: 'A primeira versão do programa foi publicada em março de 2021. Desde então, o projeto cresceu muito e hoje tem mais de cem colaboradores em todo o mundo.',
  nl: 'De eerste versie van het programma werd in maart 2021 uitgebracht. Sindsdien is het project sterk gegroeid en het heeft nu meer dan honderd medewerkers over de hele wereld.',
} as const;

describe('detectLanguage', () => {
  for (const [code, text] of Object.entries(PASSAGES)) {
    it(`recognises ${languageName(code)} in a two-sentence passage and in another register`, () => {
      expect(detectLanguage(text)).toBe(code);
      expect(detectLanguage(MORE[code as keyof typeof MORE])).toBe(code);
    });
  }

  it('is unsure about text that is too short, code, or numbers, instead of guessing', () => {
    expect(detectLanguage('Installing from source')).toBeUndefined();
    expect(detectLanguage('')).toBeUndefined();
    const code = 'const x = require("fs");\nfunction readAll(path) {\n  return fs.readFileSync(path, "utf8").split("\\n").map((l) => l.trim());\n}';
    expect(detectLanguage(code)).toBeUndefined();
    expect(detectLanguage('Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent')).toBeUndefined();
    expect(detectLanguage('| 2021 | 4.2 GB | 17 ms |\n| 2022 | 5.1 GB | 15 ms |\n| 2023 | 6.0 GB | 12 ms |')).toBeUndefined();
  });

  it('is unsure when two languages weigh the same, and goes by the bulk of a mixed document', () => {
    expect(detectLanguage(`${PASSAGES.en} ${PASSAGES.de}`)).toBeUndefined();
    const bulk = [PASSAGES.de, MORE.de, PASSAGES.de, MORE.de].join('\n\n');
    expect(detectLanguage(`${PASSAGES.en}\n\n${bulk}`)).toBe('de');
  });

  it('keeps working on decomposed accents (NFD text from some PDFs)', () => {
    expect(detectLanguage(PASSAGES.fr.normalize('NFD'))).toBe('fr');
    expect(detectLanguage(MORE.pt.normalize('NFD'))).toBe('pt');
  });

  it('names the languages it knows, whatever the case of the code', () => {
    expect(languageName('DE')).toBe('German');
    expect(languageName('pt')).toBe('Portuguese');
    expect(languageName('klingon')).toBeUndefined();
    expect(languageName('constructor')).toBeUndefined();
  });
});

describe('chunks carry their document\'s language', () => {
  const opts = { chunkSize: 200, chunkOverlap: 0, idPrefix: 'doc', detectLanguage: true };

  it('detected once over the whole text: every chunk has the same, even one that alone would be unsure', () => {
    const text = `${PASSAGES.nl}\n\n${MORE.nl}\n\nHTTP_PROXY=http://127.0.0.1:3128`;
    const chunks = chunkText(text, [], opts);
    expect(chunks.length).toBeGreaterThan(1);
    expect(detectLanguage(chunks.at(-1)!.text)).toBeUndefined();
    expect(chunks.map((c) => c.language)).toEqual(chunks.map(() => 'nl'));
  });

  it('is not detected unless asked for (only --language auto reads it)', () => {
    const chunks = chunkText(`${PASSAGES.nl}\n\n${MORE.nl}`, [], { ...opts, detectLanguage: false });
    for (const c of chunks) expect('language' in c).toBe(false);
  });

  it('has no language key when the document is unsure', () => {
    for (const c of chunkText('x = 1\ny = 2\nz = x + y', [], opts)) expect('language' in c).toBe(false);
  });
});
