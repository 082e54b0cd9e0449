import { Rng } from './stix';

/**
 * Deterministic, realistic STIX 1.2 XML packages for TAXII 1.x tests and benchmarks: an indicator
 * with a CybOX observable (IPv4 address, domain, URL or file hash), a TTP naming a malware family,
 * a kill-chain phase, a confidence and a handling marking, as ISAC feeds published them.
 */
const FAMILIES = ['Emotet', 'TrickBot', 'QakBot', 'IcedID', 'Cobalt Strike', 'AgentTesla', 'Dridex', 'Ursnif'];
const PHASES = ['Delivery', 'Exploitation', 'Installation', 'Command and Control', 'Actions on Objectives'];

const NAMESPACES = [
  'xmlns:stix="http://stix.mitre.org/stix-1"',
  'xmlns:stixCommon="http://stix.mitre.org/common-1"',
  'xmlns:indicator="http://stix.mitre.org/Indicator-2"',
  'xmlns:ttp="http://stix.mitre.org/TTP-1"',
  'xmlns:marking="http://data-marking.mitre.org/Marking-1"',
  'xmlns:tlpMarking="http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1"',
  'xmlns:cybox="http://cybox.mitre.org/cybox-2"',
  'xmlns:cyboxCommon="http://cybox.mitre.org/common-2"',
  'xmlns:AddressObj="http://cybox.mitre.org/objects#AddressObject-2"',
  'xmlns:DomainNameObj="http://cybox.mitre.org/objects#DomainNameObject-1"',
  'xmlns:URIObj="http://cybox.mitre.org/objects#URIObject-2"',
  'xmlns:FileObj="http://cybox.mitre.org/objects#FileObject-2"',
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
  'xmlns:example="http://example.com"',
].join(' ');

function observable(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
      return `<cybox:Properties xsi:type="AddressObj:AddressObjectType" category="ipv4-addr"><AddressObj:Address_Value condition="Equals">${rng.int(223) + 1}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}</AddressObj:Address_Value></cybox:Properties>`;
    case 1:
      return `<cybox:Properties xsi:type="DomainNameObj:DomainNameObjectType"><DomainNameObj:Value condition="Equals">${rng.uuid4().slice(0, 10)}.example.net</DomainNameObj:Value></cybox:Properties>`;
    case 2:
      return `<cybox:Properties xsi:type="URIObj:URIObjectType" type="URL"><URIObj:Value condition="Equals">http://${rng.uuid4().slice(0, 8)}.example.org/gate.php?id=${rng.int(1e6)}&amp;v=2</URIObj:Value></cybox:Properties>`;
    default: {
      const hash = Array.from({ length: 64 }, () => '0123456789abcdef'[rng.int(16)]).join('');
      return `<cybox:Properties xsi:type="FileObj:FileObjectType"><FileObj:Hashes><cyboxCommon:Hash><cyboxCommon:Type>SHA256</cyboxCommon:Type><cyboxCommon:Simple_Hash_Value condition="Equals">${hash}</cyboxCommon:Simple_Hash_Value></cyboxCommon:Hash></FileObj:Hashes></cybox:Properties>`;
    }
  }
}

/** One STIX 1.2 package (about 2 KB) as a TAXII content block would carry it. */
export function stix1Package(rng: Rng, timestamp = '2026-11-20T10:00:00Z'): string {
  const id = rng.uuid4();
  const family = rng.pick(FAMILIES);
  return (
    `<stix:STIX_Package ${NAMESPACES} id="example:Package-${id}" version="1.2" timestamp="${timestamp}">` +
    `<stix:STIX_Header><stix:Title>${family} indicators</stix:Title><stix:Package_Intent xsi:type="stixVocabs:PackageIntentVocab-1.0" xmlns:stixVocabs="http://stix.mitre.org/default_vocabularies-1">Indicators</stix:Package_Intent>` +
    `<stix:Handling><marking:Marking><marking:Controlled_Structure>//node() | //@*</marking:Controlled_Structure><marking:Marking_Structure xsi:type="tlpMarking:TLPMarkingStructureType" color="AMBER"/></marking:Marking></stix:Handling></stix:STIX_Header>` +
    `<stix:Indicators><stix:Indicator id="example:indicator-${rng.uuid4()}" timestamp="${timestamp}" xsi:type="indicator:IndicatorType" version="2.1.1">` +
    `<indicator:Title>${family} infrastructure</indicator:Title><indicator:Type xsi:type="stixVocabs:IndicatorTypeVocab-1.1" xmlns:stixVocabs="http://stix.mitre.org/default_vocabularies-1">Malware Artifacts</indicator:Type>` +
    `<indicator:Description>Observed in ${family} campaigns &amp; shared by the trust group.</indicator:Description>` +
    `<indicator:Observable id="example:Observable-${rng.uuid4()}"><cybox:Object id="example:Object-${rng.uuid4()}">${observable(rng)}</cybox:Object></indicator:Observable>` +
    `<indicator:Indicated_TTP><stixCommon:TTP idref="example:ttp-${id}"/></indicator:Indicated_TTP>` +
    `<indicator:Kill_Chain_Phases><stixCommon:Kill_Chain_Phase name="${rng.pick(PHASES)}" kill_chain_name="LM Cyber Kill Chain"/></indicator:Kill_Chain_Phases>` +
    `<indicator:Confidence><stixCommon:Value>${rng.pick(['High', 'Medium', 'Low'])}</stixCommon:Value></indicator:Confidence>` +
    `</stix:Indicator></stix:Indicators>` +
    `<stix:TTPs><stix:TTP id="example:ttp-${id}" xsi:type="ttp:TTPType" version="1.2"><ttp:Title>${family}</ttp:Title><ttp:Behavior><ttp:Malware><ttp:Malware_Instance><ttp:Name>${family}</ttp:Name></ttp:Malware_Instance></ttp:Malware></ttp:Behavior></stix:TTP></stix:TTPs>` +
    `</stix:STIX_Package>`
  );
}
